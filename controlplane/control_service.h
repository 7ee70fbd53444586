#pragma once

// The gRPC control service over the data plane (callback API: no gRPC thread waits while a
// config is resolved or applied; UpdateConfig hands the change to the config pipeline, whose
// thread or the last worker to apply it finishes the call).
//
// Thread contract: gRPC calls it from its own threads; it never touches a worker's sockets
// and never blocks. The pipeline must outlive the server that hosts the service.

#include <atomic>
#include <functional>
#include <string>

#include "controlplane/config_pipeline.h"
#include "dataplane/dataplane.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxynode {

class ControlService final : public v1::ControlService::CallbackService {
 public:
  // Concurrent WatchStats streams allowed; more get RESOURCE_EXHAUSTED.
  static constexpr int kMaxWatchers = 64;

  struct Settings {
    // What a declarative update (UpdateConfigRequest.replace) starts from: the built-in
    // defaults under the command-line flags, without routes or fault rules.
    NodeConfig defaults;
    // --config when the node watches it: its next change replaces what the API set.
    std::string watched_config_file;
  };

  // `on_drain` runs (once) when a Drain call starts the drain. Config changes go through
  // `pipeline`.
  ControlService(Dataplane& dataplane, ConfigPipeline& pipeline, std::function<void()> on_drain,
                 Settings settings = {});

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* context,
                                      const v1::GetConfigRequest* request,
                                      v1::GetConfigResponse* response) override;
  grpc::ServerUnaryReactor* UpdateConfig(grpc::CallbackServerContext* context,
                                         const v1::UpdateConfigRequest* request,
                                         v1::UpdateConfigResponse* response) override;
  grpc::ServerUnaryReactor* GetConfigHistory(grpc::CallbackServerContext* context,
                                             const v1::GetConfigHistoryRequest* request,
                                             v1::GetConfigHistoryResponse* response) override;
  grpc::ServerUnaryReactor* RollbackConfig(grpc::CallbackServerContext* context,
                                           const v1::RollbackConfigRequest* request,
                                           v1::UpdateConfigResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::Stats* response) override;
  grpc::ServerWriteReactor<v1::Stats>* WatchStats(grpc::CallbackServerContext* context,
                                                  const v1::WatchStatsRequest* request) override;
  grpc::ServerUnaryReactor* ListConnections(grpc::CallbackServerContext* context,
                                            const v1::ListConnectionsRequest* request,
                                            v1::ListConnectionsResponse* response) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const v1::DrainRequest* request,
                                  v1::DrainResponse* response) override;

  v1::Stats CurrentStats() const;

 private:
  friend class StatsWatcher;

  // Hands `change` to the pipeline; its outcome finishes the call.
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context, ConfigChange change,
                                   v1::UpdateConfigResponse* response);

  Dataplane& dataplane_;
  ConfigPipeline& pipeline_;
  std::function<void()> on_drain_;
  const Settings settings_;
  std::atomic<bool> drain_requested_{false};
  std::atomic<int> watchers_{0};
};

}  // namespace proxynode
