#pragma once

// The data plane's TLS client side, for connections to upstreams (OpenSSL 3): the peer's
// certificate verified against a CA file or the system's CAs (Debian's ca-certificates),
// its name checked (a DNS name, sent as SNI too, or an IP address), an optional client
// certificate (mutual TLS), ALPN (h2 or http/1.1, as the route speaks), TLS 1.2 and 1.3.
//
// Made when a config is applied (the control plane's thread reads the files), shared by
// every worker through the config snapshot. Sessions are resumed per worker and upstream
// (the pool keeps the last one a handshake gave: NewSession takes it back).
//
// Thread contract: Create on any thread; NewSession from any worker thread (SSL_CTX is
// read-only once made).

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace proxynode {

// Keeps the session a handshake (or a TLS 1.3 ticket after it) gave, to resume the next
// connection with.
class TlsSessionKeeper {
 public:
  virtual ~TlsSessionKeeper() = default;
  // Takes one reference to `session`.
  virtual void KeepSession(SSL_SESSION* session) = 0;
};

class TlsClientContext {
 public:
  struct Files {
    std::string ca_file;    // empty: the system's CAs
    std::string cert_file;  // client certificate chain (PEM), with key_file; empty: none
    std::string key_file;
  };

  // `alpn` is the one protocol offered ("h2" or "http/1.1"). Errors name the file and why,
  // prefixed with `field` (e.g. "routes[0].upstream_tls").
  static absl::StatusOr<std::shared_ptr<TlsClientContext>> Create(const Files& files,
                                                                  std::string_view alpn,
                                                                  const std::string& field);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // A client SSL for one connection to `server_name` (a DNS name: SNI and the name its
  // certificate must carry; an IP address: checked as one, no SNI), resuming `session`
  // when given; the sessions it is given go to `keeper` (which must outlive the SSL). Null
  // when OpenSSL is out of memory.
  SSL* NewSession(std::string_view server_name, SSL_SESSION* session,
                  TlsSessionKeeper* keeper) const;

 private:
  explicit TlsClientContext(SSL_CTX* context) : context_(context) {}

  SSL_CTX* context_;
};

}  // namespace proxynode
