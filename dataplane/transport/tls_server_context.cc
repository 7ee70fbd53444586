#include "dataplane/transport/tls_server_context.h"

#include <openssl/err.h>
#include <sys/stat.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dataplane/transport/openssl_error.h"

namespace proxynode {
namespace {

// The protocols offered by ALPN, in the node's order of preference (RFC 7301 wire format).
constexpr unsigned char kAlpnProtocols[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
               const unsigned char* offered, unsigned int offered_length, void* /*arg*/) {
  unsigned char* chosen = nullptr;
  // The server's list decides the order: h2 whenever the client offers it.
  if (SSL_select_next_proto(&chosen, out_length, kAlpnProtocols, sizeof(kAlpnProtocols), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without ALPN (HTTP/1.1)
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

absl::StatusOr<SSL_CTX*> TlsServerContext::Load(const std::string& cert_file,
                                                const std::string& key_file) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat("TLS: ", OpenSslError()));
  }
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  // No renegotiation (a CPU-exhaustion vector and nothing a client needs); an EOF without
  // close_notify is an ordinary end, as browsers and curl often close that way.
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                   SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Write whatever the socket takes and let the output buffer move between retries; give a
  // connection's record buffers back while it is idle.
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
  // Read as much as the socket has in one call, not a record header at a time.
  SSL_CTX_set_read_ahead(context, 1);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_alpn_select_cb(context, SelectAlpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(context, cert_file.c_str()) != 1) {
    const std::string error = OpenSslError();
    SSL_CTX_free(context);
    return absl::InvalidArgumentError(absl::StrCat("--tls_cert ", cert_file, ": ", error));
  }
  if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string error = OpenSslError();
    SSL_CTX_free(context);
    return absl::InvalidArgumentError(absl::StrCat("--tls_key ", key_file, ": ", error));
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    const std::string error = OpenSslError();
    SSL_CTX_free(context);
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key ", key_file, " does not match --tls_cert ", cert_file, ": ", error));
  }
  return context;
}

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(std::string cert_file,
                                                                           std::string key_file) {
  const FileIdentity cert_identity = Identify(cert_file);
  const FileIdentity key_identity = Identify(key_file);
  absl::StatusOr<SSL_CTX*> context = Load(cert_file, key_file);
  if (!context.ok()) {
    return context.status();
  }
  auto made = std::unique_ptr<TlsServerContext>(
      new TlsServerContext(std::move(cert_file), std::move(key_file), *context));
  made->cert_identity_ = cert_identity;
  made->key_identity_ = key_identity;
  return made;
}

TlsServerContext::TlsServerContext(std::string cert_file, std::string key_file, SSL_CTX* context)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), context_(context) {}

TlsServerContext::~TlsServerContext() {
  std::lock_guard<std::mutex> lock(mutex_);
  SSL_CTX_free(context_);
}

SSL* TlsServerContext::NewSession() {
  std::lock_guard<std::mutex> lock(mutex_);
  return SSL_new(context_);  // holds a reference to the context: a reload cannot free it
}

TlsServerContext::FileIdentity TlsServerContext::Identify(const std::string& path) {
  FileIdentity identity;
  struct stat status {};
  if (stat(path.c_str(), &status) == 0) {  // follows symlinks: the target is what counts
    identity.inode = status.st_ino;
    identity.size = status.st_size;
    identity.modified = status.st_mtim;
  }
  return identity;
}

absl::StatusOr<bool> TlsServerContext::ReloadIfChanged() {
  const FileIdentity cert_identity = Identify(cert_file_);
  const FileIdentity key_identity = Identify(key_file_);
  if (cert_identity == cert_identity_ && key_identity == key_identity_) {
    return false;
  }
  // Remembered before loading: a file that cannot be used is reported once, not every tick.
  cert_identity_ = cert_identity;
  key_identity_ = key_identity;
  absl::StatusOr<SSL_CTX*> context = Load(cert_file_, key_file_);
  if (!context.ok()) {
    return context.status();
  }
  SSL_CTX* previous;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    previous = std::exchange(context_, *context);
  }
  SSL_CTX_free(previous);  // sessions made from it keep it until they end
  ++reloads_;
  return true;
}

}  // namespace proxynode
