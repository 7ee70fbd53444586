#pragma once

// A grpc-message value as gRPC's wire protocol carries it (PROTOCOL-HTTP2.md, "Responses"):
// percent-encoded UTF-8, where every byte outside 0x20-0x7E, and '%' itself, becomes %XX.
// A pure function.

#include <string>
#include <string_view>

namespace proxynode {

inline void PercentEncodeGrpcMessage(std::string_view message, std::string* out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  out->clear();
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7E && byte != '%') {
      out->push_back(c);
    } else {
      out->push_back('%');
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xF]);
    }
  }
}

}  // namespace proxynode
