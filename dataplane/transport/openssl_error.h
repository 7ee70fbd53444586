#pragma once

// OpenSSL's last error as text, for messages that name a file and why it was refused.
//
// Thread contract: OpenSSL's error queue is per thread; this reads and clears the caller's.

#include <openssl/err.h>

#include <string>

namespace proxynode {

inline std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace proxynode
