#include "controlplane/control_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "controlplane/control_service.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxynode {

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& address,
                                                                    ControlService& service,
                                                                    const ControlTlsOptions& tls) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ControlServerCredentials(tls);
  if (!credentials.ok()) {
    return credentials.status();
  }
  int port = 0;
  builder.AddListeningPort(address, *credentials, &port);
  builder.RegisterService(&service);
  // Control messages are small; refuse anything larger than this outright.
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("--control_listen ", address,
                                               ": cannot listen there (in use or bad address)"));
  }
  std::string host = address.substr(0, address.rfind(':'));
  auto control = std::unique_ptr<ControlServer>(
      new ControlServer(std::move(server), absl::StrCat(host, ":", port)));
  control->SetServing(true);
  return control;
}

ControlServer::~ControlServer() { Shutdown(); }

void ControlServer::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) {
    // "" (the node) and the control service follow the drain: readiness probes use them.
    health->SetServingStatus(serving);
    // Registers the service's own name too (the default service knows only "").
    health->SetServingStatus(v1::ControlService::service_full_name(), serving);
    // "liveness" stays SERVING while the process works, drain included, so a liveness
    // probe never restarts a node that is finishing its requests.
    health->SetServingStatus(std::string(kLivenessService), true);
  }
}

void ControlServer::Shutdown() {
  if (server_ != nullptr) {
    // Open streams (WatchStats) get a moment to end, then are cancelled.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
  }
}

}  // namespace proxynode
