#include "dataplane/transport/tls_client_context.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "dataplane/transport/openssl_error.h"

namespace proxynode {
namespace {

// The SSL ex_data slot holding the TlsSessionKeeper of a connection's pool.
int KeeperSlot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* keeper = static_cast<TlsSessionKeeper*>(SSL_get_ex_data(ssl, KeeperSlot()));
  if (keeper == nullptr) {
    return 0;  // not kept: OpenSSL frees it
  }
  keeper->KeepSession(session);
  return 1;  // the keeper holds the reference
}

bool IsIpAddress(const std::string& text) {
  unsigned char address[16];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsClientContext>> TlsClientContext::Create(
    const Files& files, std::string_view alpn, const std::string& field) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat(field, ": ", OpenSslError()));
  }
  auto fail = [&](const std::string& message) {
    SSL_CTX_free(context);
    return absl::InvalidArgumentError(absl::StrCat(field, message));
  };
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(context, 1);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  if (files.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(context) != 1) {
      return fail(absl::StrCat(": the system's CAs: ", OpenSslError()));
    }
  } else if (SSL_CTX_load_verify_locations(context, files.ca_file.c_str(), nullptr) != 1) {
    return fail(absl::StrCat(".ca_file ", files.ca_file, ": ", OpenSslError()));
  }
  if (!files.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context, files.cert_file.c_str()) != 1) {
      return fail(absl::StrCat(".cert_file ", files.cert_file, ": ", OpenSslError()));
    }
    if (SSL_CTX_use_PrivateKey_file(context, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail(absl::StrCat(".key_file ", files.key_file, ": ", OpenSslError()));
    }
    if (SSL_CTX_check_private_key(context) != 1) {
      return fail(absl::StrCat(".key_file ", files.key_file, " does not match cert_file ",
                               files.cert_file, ": ", OpenSslError()));
    }
  }
  // ALPN's wire format: a length byte, then the name.
  std::string protocols(1, static_cast<char>(alpn.size()));
  protocols.append(alpn);
  if (SSL_CTX_set_alpn_protos(context, reinterpret_cast<const unsigned char*>(protocols.data()),
                              static_cast<unsigned int>(protocols.size())) != 0) {
    return fail(absl::StrCat(": ALPN: ", OpenSslError()));
  }
  // Sessions go to the connection's pool (per worker and upstream), not to a shared cache.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(context, OnNewSession);
  KeeperSlot();  // made before any worker needs it
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(context));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(context_); }

SSL* TlsClientContext::NewSession(std::string_view server_name, SSL_SESSION* session,
                                  TlsSessionKeeper* keeper) const {
  SSL* ssl = SSL_new(context_);
  if (ssl == nullptr) {
    return nullptr;
  }
  const std::string name(server_name);
  if (IsIpAddress(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    // SSL_set_tlsext_host_name, without its macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, name.c_str());
  }
  if (session != nullptr) {
    SSL_set_session(ssl, session);
  }
  SSL_set_ex_data(ssl, KeeperSlot(), keeper);
  return ssl;
}

}  // namespace proxynode
