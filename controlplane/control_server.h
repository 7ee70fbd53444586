#pragma once

// The gRPC server hosting the control service, grpc.health.v1 (for Kubernetes probes) and
// server reflection (so standard gRPC tools can explore the API).

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controlplane/control_tls.h"
#include "grpcpp/server.h"

namespace proxynode {

class ControlService;

class ControlServer {
 public:
  // grpc.health.v1 service name that reports SERVING for as long as the process runs.
  static constexpr std::string_view kLivenessService = "liveness";

  // Listens on `address` ("host:port"; port 0 picks one) and starts serving, over TLS when
  // `tls` names a certificate. Bad TLS options or files: InvalidArgument (a start-up error);
  // an address it cannot listen on: Unavailable.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const std::string& address,
                                                              ControlService& service,
                                                              const ControlTlsOptions& tls = {});
  ~ControlServer();

  // The address actually bound, "host:port".
  const std::string& address() const { return address_; }
  // grpc.health.v1: SERVING or NOT_SERVING (draining) for "" and every registered service,
  // except kLivenessService which stays SERVING.
  void SetServing(bool serving);
  void Shutdown();

 private:
  ControlServer(std::unique_ptr<grpc::Server> server, std::string address)
      : server_(std::move(server)), address_(std::move(address)) {}

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace proxynode
