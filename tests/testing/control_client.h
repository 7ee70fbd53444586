#pragma once

// A small client of the node's gRPC control plane for integration tests: one channel to
// 127.0.0.1:<control port>, and every call made with a deadline, so a test that waits for an
// answer the node never gives fails instead of hanging.
//
// Thread contract: the methods may be called from several threads at once (each call has its
// own ClientContext); the object itself must outlive the calls.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxynode::testing {

inline constexpr std::chrono::milliseconds kDefaultRpcTimeout{5000};

// grpc.health.v1.HealthCheckResponse.ServingStatus, plus what a failed call gives.
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// Proto durations from and to milliseconds (whole milliseconds; nanos keep their sign).
google::protobuf::Duration Millis(int64_t milliseconds);
int64_t ToNanos(const google::protobuf::Duration& duration);

// "INVALID_ARGUMENT: delay: -5ms is out of range ..." for assertion messages.
std::string Describe(const grpc::Status& status);

// Routes for the reverse-proxy tests: `prefix` forwarded to `upstreams` ("host:port"), or
// answered by the node itself.
v1::Route ProxyRoute(const std::string& prefix, const std::vector<std::string>& upstreams);
v1::Route RespondRoute(const std::string& prefix);
// The entry for upstream `address` / route `prefix` in `stats`; nullptr when there is none.
const v1::UpstreamStats* FindUpstream(const v1::Stats& stats, const std::string& address);
const v1::RouteStats* FindRoute(const v1::Stats& stats, const std::string& prefix);

class ControlClient {
 public:
  // Connects lazily: the first call opens the channel (within its deadline).
  explicit ControlClient(uint16_t control_port,
                         std::chrono::milliseconds timeout = kDefaultRpcTimeout);
  // The same with `credentials`, e.g. grpc::SslCredentials for a node with TLS on its
  // control port (its certificate must then name 127.0.0.1).
  ControlClient(uint16_t control_port, std::shared_ptr<grpc::ChannelCredentials> credentials,
                std::chrono::milliseconds timeout = kDefaultRpcTimeout);

  grpc::Status GetConfig(v1::NodeConfig* config);
  grpc::Status UpdateConfig(const v1::UpdateConfigRequest& request,
                            v1::UpdateConfigResponse* response);
  // UpdateConfig with `config`, the mask `paths` and `expected_version` (0: unconditional).
  // `response` may be null.
  grpc::Status Update(const v1::NodeConfig& config, const std::vector<std::string>& paths,
                      v1::UpdateConfigResponse* response = nullptr, uint64_t expected_version = 0);
  // UpdateConfig replacing the whole route list (mask "routes"; empty: respond everywhere).
  grpc::Status SetRoutes(const std::vector<v1::Route>& routes,
                         v1::UpdateConfigResponse* response = nullptr);
  grpc::Status GetStats(v1::Stats* stats);
  grpc::Status ListConnections(uint32_t limit, v1::ListConnectionsResponse* response);
  grpc::Status Drain(v1::DrainResponse* response);

  // Opens WatchStats with `interval` and reads until `count` messages arrived (then cancels
  // the stream and returns OK) or `timeout` passes (DEADLINE_EXCEEDED). When the node ends
  // the stream first, returns its status (e.g. INVALID_ARGUMENT). `messages` gets what came.
  grpc::Status WatchStats(const google::protobuf::Duration& interval, size_t count,
                          std::chrono::milliseconds timeout, std::vector<v1::Stats>* messages);

  // grpc.health.v1.Health/Check for `service` ("" = the whole server), called generically
  // (no generated health stub): the request and the response are encoded by hand.
  grpc::Status HealthCheck(const std::string& service, HealthStatus* status);

  // Calls unary `method` ("/package.Service/Method") with `request_bytes` sent as they are,
  // whatever they encode (for malformed-message tests); the reply's bytes in `response_bytes`.
  grpc::Status RawUnaryCall(const std::string& method, const std::string& request_bytes,
                            std::string* response_bytes);

  v1::ControlService::Stub& stub() { return *stub_; }
  // A context whose deadline is now + the client's timeout.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

 private:
  std::chrono::milliseconds timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

}  // namespace proxynode::testing
