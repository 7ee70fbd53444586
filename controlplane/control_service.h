#pragma once

// The gRPC control service over the data plane (callback API: no gRPC thread waits while
// workers apply a config; the last worker's acknowledgement finishes the call).
//
// Thread contract: gRPC calls it from its own threads; it never touches a worker's sockets.

#include <atomic>
#include <functional>
#include <mutex>

#include "absl/status/statusor.h"
#include "dataplane/dataplane.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace proxynode {

class ControlService final : public v1::ControlService::CallbackService {
 public:
  // Concurrent WatchStats streams allowed; more get RESOURCE_EXHAUSTED.
  static constexpr int kMaxWatchers = 64;

  // `on_drain` runs (once) when a Drain call starts the drain.
  ControlService(Dataplane& dataplane, std::function<void()> on_drain);

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

  // Replaces the whole config (a reloaded config file), as an UpdateConfig of every field
  // would: under the same lock, refused while draining, validated, upstreams resolved,
  // version bumped. Blocks until every worker applied it (call it from a control thread,
  // never from a worker).
  // Returns the snapshot now running; an unchanged config returns the running one as is.
  struct Replaced {
    ConfigSnapshotPtr config;
    bool changed = false;
    Nanos apply_time = 0;
  };
  absl::StatusOr<Replaced> ReplaceConfig(NodeConfig config);
  uint64_t RunningVersion() const { return dataplane_.config()->version; }

 private:
  friend class StatsWatcher;

  Dataplane& dataplane_;
  std::function<void()> on_drain_;
  std::atomic<bool> drain_requested_{false};
  // Serializes UpdateConfig: version check, version bump and publish happen as one step.
  std::mutex update_mutex_;
  std::atomic<int> watchers_{0};
};

}  // namespace proxynode
