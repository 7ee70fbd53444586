#include "controlplane/control_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/bounded_file.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace proxynode {
namespace {

// How often gRPC re-reads the files. The kubelet updates a mounted Secret within about a
// minute as well, so a renewed certificate is in use a minute or two after it was issued.
constexpr unsigned kRefreshSeconds = 60;

// Certificate files are a few KiB (a CA bundle maybe 200 KiB); this stops a wrong path such
// as /dev/zero from being read forever.
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

absl::Status FileError(const char* flag, const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": ", problem));
}

absl::StatusOr<std::string> ReadFile(const char* flag, const std::string& path) {
  std::string text;
  if (std::optional<std::string> problem = ReadBoundedFile(path, kMaxFileBytes, &text)) {
    return FileError(flag, path, *problem);
  }
  return text;
}

// The PEM checks use the OpenSSL that gRPC itself uses, so what passes here parses there.
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using PrivateKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
}

// The first certificate in `pem` (the node's own, in a chain); null if there is none.
Certificate FirstCertificate(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  return Certificate(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                     &X509_free);
}

PrivateKey ReadPrivateKey(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  // No passphrase: an encrypted key fails here instead of OpenSSL prompting on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  return PrivateKey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr,
      &EVP_PKEY_free);
}

absl::Status CheckFiles(const ControlTlsOptions& options) {
  absl::StatusOr<std::string> cert_pem = ReadFile("--control_tls_cert", options.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadFile("--control_tls_key", options.key_file);
  if (!key_pem.ok()) return key_pem.status();
  Certificate cert = FirstCertificate(*cert_pem);
  if (cert == nullptr) {
    return FileError("--control_tls_cert", options.cert_file, "no PEM certificate in it");
  }
  PrivateKey key = ReadPrivateKey(*key_pem);
  if (key == nullptr) {
    return FileError("--control_tls_key", options.key_file,
                     "no PEM private key in it (an encrypted key is not supported)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return FileError(
        "--control_tls_key", options.key_file,
        absl::StrCat("not the key of the certificate in --control_tls_cert ", options.cert_file));
  }
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca_pem =
        ReadFile("--control_tls_client_ca", options.client_ca_file);
    if (!ca_pem.ok()) return ca_pem.status();
    if (FirstCertificate(*ca_pem) == nullptr) {
      return FileError("--control_tls_client_ca", options.client_ca_file,
                       "no PEM certificate in it");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ControlServerCredentials(
    const ControlTlsOptions& options) {
  if (!options.enabled()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        options.key_file.empty()
            ? "--control_tls_client_ca needs --control_tls_cert and --control_tls_key (the "
              "node's own certificate: client certificates are checked over TLS)"
            : "--control_tls_key needs --control_tls_cert (the certificate of that key)");
  }
  if (options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--control_tls_cert needs --control_tls_key (the certificate's private key)");
  }
  absl::Status checked = CheckFiles(options);
  ERR_clear_error();  // leave no failed parse in this thread's OpenSSL error queue
  if (!checked.ok()) return checked;

  // gRPC's TLS credentials with a file-watching provider (an API still marked experimental
  // in gRPC 1.51) rather than SslServerCredentials, which keeps the start-up certificate
  // until a restart.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!options.client_ca_file.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace proxynode
