#pragma once

// The gRPC control service over the data plane (callback API: no gRPC thread waits while a
// config is resolved or applied; UpdateConfig hands the change to the config pipeline, whose
// thread or the last worker to apply it finishes the call).
//
// Thread contract: gRPC calls it from its own threads; it never touches a worker's sockets
// and never blocks. The pipeline must outlive the server that hosts the service.

#include <atomic>
#include <functional>

#include "controlplane/config_pipeline.h"
#include "dataplane/dataplane.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxynode {

class ControlService final : public v1::ControlService::CallbackService {
 public:
  // Concurrent WatchStats streams allowed; more get RESOURCE_EXHAUSTED.
  static constexpr int kMaxWatchers = 64;

  // `on_drain` runs (once) when a Drain call starts the drain. Config changes go through
  // `pipeline`.
  ControlService(Dataplane& dataplane, ConfigPipeline& pipeline, std::function<void()> on_drain);

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* context,
                                      const v1::GetConfigRequest* request,
                                      v1::GetConfigResponse* response) override;
  grpc::ServerUnaryReactor* UpdateConfig(grpc::CallbackServerContext* context,
                                         const v1::UpdateConfigRequest* request,
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

  Dataplane& dataplane_;
  ConfigPipeline& pipeline_;
  std::function<void()> on_drain_;
  std::atomic<bool> drain_requested_{false};
  std::atomic<int> watchers_{0};
};

}  // namespace proxynode
