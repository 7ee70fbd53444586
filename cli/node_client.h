#pragma once

// One node's control API with proxyctl's conventions: every unary call has a deadline of
// the --timeout, and every failure becomes an Outcome: an exit code (refused = 1,
// unreachable = 3) and a one-line message fit for stderr or a table cell.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "cli/exit_codes.h"
#include "grpcpp/grpcpp.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxyctl {

struct Outcome {
  int exit_code = kExitOk;
  std::string error;  // one line; empty when ok
  // The node's refusal, when it answered with one (FAILED_PRECONDITION tells a lost CAS
  // race, which a read-modify-write retries); OK otherwise.
  grpc::StatusCode refusal = grpc::StatusCode::OK;

  bool ok() const { return exit_code == kExitOk; }
  static Outcome Failure(int exit_code, std::string error) {
    return Outcome{exit_code, std::move(error), grpc::StatusCode::OK};
  }
};

// Maps a finished call's status to an Outcome. `connected`: whether the channel had a
// connection when the call ended, which tells a node that never answered (unreachable)
// from one that answered too slowly (refused). `tls`: whether the channel uses TLS, to
// explain a failed handshake.
Outcome OutcomeFromStatus(const std::string& address, std::chrono::milliseconds timeout,
                          const grpc::Status& status, bool connected, bool tls = false);

// How the channel to a node is secured (--tls_ca and friends): plaintext by default.
struct Transport {
  std::shared_ptr<grpc::ChannelCredentials> tls;  // SSL credentials; null: plaintext
  // The name the node's certificate must carry when it is not the address's host (e.g.
  // --all expands a name to pod IPs; the certificate names the Service).
  std::string server_name;
};

class NodeClient {
 public:
  // `address` is a gRPC target ("127.0.0.1:9090", "[::1]:9090", "name:9090").
  NodeClient(std::string address, std::chrono::milliseconds timeout,
             const Transport& transport = {});

  const std::string& address() const { return address_; }

  Outcome GetConfig(proxynode::v1::NodeConfig* config);
  // The config with what comes beside it: effective values, the watched config file.
  Outcome GetConfig(proxynode::v1::GetConfigResponse* response);
  Outcome GetConfigHistory(const proxynode::v1::GetConfigHistoryRequest& request,
                           proxynode::v1::GetConfigHistoryResponse* response);
  Outcome RollbackConfig(const proxynode::v1::RollbackConfigRequest& request,
                         proxynode::v1::UpdateConfigResponse* response);
  Outcome UpdateConfig(const proxynode::v1::UpdateConfigRequest& request,
                       proxynode::v1::UpdateConfigResponse* response);
  Outcome GetStats(proxynode::v1::Stats* stats);
  Outcome ListConnections(uint32_t limit, proxynode::v1::ListConnectionsResponse* response);
  Outcome Drain(proxynode::v1::DrainResponse* response);

  // Streams Stats every `interval` to `on_stats` until it returns false, CancelWatch() is
  // called (from any thread), or the stream fails. Stopping on either of the first two is
  // success. Reachability is checked first with a GetStats (which has the deadline); the
  // stream itself has none.
  Outcome WatchStats(std::chrono::milliseconds interval,
                     const std::function<bool(const proxynode::v1::Stats&)>& on_stats);
  void CancelWatch();

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  Outcome Finish(const grpc::Status& status) const;

  const std::string address_;
  const std::chrono::milliseconds timeout_;
  const bool tls_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proxynode::v1::ControlService::Stub> stub_;

  std::mutex watch_mutex_;
  grpc::ClientContext* watch_context_ = nullptr;  // guarded by watch_mutex_
  bool watch_cancelled_ = false;                  // guarded by watch_mutex_
};

}  // namespace proxyctl
