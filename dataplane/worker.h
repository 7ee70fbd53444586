#pragma once

// A worker: one thread running one EventLoop with its listener registration, its
// connections, its stats and its view of the configuration.
//
// Thread contract: the public methods are safe to call from any thread (they post to the
// loop) unless marked otherwise.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "dataplane/buffer.h"
#include "dataplane/config_snapshot.h"
#include "dataplane/connection.h"
#include "dataplane/event_loop.h"
#include "dataplane/http_response.h"
#include "dataplane/listener.h"
#include "dataplane/snapshot_cache.h"
#include "dataplane/worker_context.h"
#include "dataplane/worker_stats.h"

namespace proxynode {

class Admission;
class RequestHandler;

struct WorkerOptions {
  int index = 0;
  int listen_fd = -1;
  bool exclusive_accept = true;  // EPOLLEXCLUSIVE on the shared listening socket
  RequestHandler* handler = nullptr;
  Admission* admission = nullptr;  // null: no limits (the admin listener)
  ConfigSnapshotPtr config;
  std::shared_ptr<WorkerStats> stats;
  std::string thread_name;
};

class Worker : public ConnectionOwner {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; the worker begins accepting.
  void Start();
  // Makes `config` current in this worker, then runs `applied` in the worker's thread.
  void PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied);
  // Stops accepting, closes idle connections, closes the rest once their responses are out.
  void BeginDrain();
  // Closes every remaining connection at once.
  void AbortConnections();
  // True once draining and no connection is left.
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  // Stops the loop and joins the thread (call from another thread).
  void StopAndJoin();

  int index() const { return options_.index; }
  const std::shared_ptr<WorkerStats>& stats() const { return options_.stats; }

  void OnConnectionClosed(Connection* connection) override;

 private:
  void Accept(int fd);
  void UpdateDrained();

  WorkerOptions options_;
  EventLoop loop_;
  BufferPool pool_;
  SnapshotCache snapshots_;
  DateHeaderCache date_;
  WorkerContext context_;
  Listener listener_;
  uint64_t next_connection_serial_ = 0;
  std::atomic<bool> drained_{false};
  std::thread thread_;
  // Last member: connections go first, while everything they point at still exists.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Connection>> connections_;
};

}  // namespace proxynode
