#pragma once

// The gRPC server hosting the control service, grpc.health.v1 (for Kubernetes probes) and
// server reflection (so standard gRPC tools can explore the API).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"

namespace proxynode {

class ControlService;

class ControlServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks one) and starts serving.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const std::string& address,
                                                              ControlService& service);
  ~ControlServer();

  // The address actually bound, "host:port".
  const std::string& address() const { return address_; }
  // grpc.health.v1: SERVING or NOT_SERVING (draining), for "" and the control service.
  void SetServing(bool serving);
  void Shutdown();

 private:
  ControlServer(std::unique_ptr<grpc::Server> server, std::string address)
      : server_(std::move(server)), address_(std::move(address)) {}

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace proxynode
