#pragma once

// TLS for the control port: the node's certificate and key (--control_tls_cert,
// --control_tls_key) and, for mutual TLS, the CA that client certificates must chain to
// (--control_tls_client_ca). Without them the port is plaintext.
//
// gRPC watches the files and re-reads them every minute, so a renewed certificate (e.g. a
// Kubernetes Secret updated by cert-manager) is picked up without a restart; new
// connections use it, open ones keep the certificate they were made with.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace proxynode {

struct ControlTlsOptions {
  std::string cert_file;       // PEM certificate chain, the node's certificate first
  std::string key_file;        // PEM private key of that certificate (unencrypted)
  std::string client_ca_file;  // PEM CA bundle; empty: clients need no certificate

  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty();
  }
};

// Checks the options and the files as they are now (readable, PEM, the key matching the
// certificate) and returns the credentials for the control port: insecure when no option is
// set. Errors are InvalidArgument and name the flag and the path.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ControlServerCredentials(
    const ControlTlsOptions& options);

}  // namespace proxynode
