#pragma once

// A worker: one thread running one EventLoop with its listener registration, its
// connections, its stats and its view of the configuration.
//
// Thread contract: the public methods are safe to call from any thread (they post to the
// loop) unless marked otherwise.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/cpu_affinity.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/access_log.h"
#include "dataplane/server/connection.h"
#include "dataplane/server/idle_connections.h"
#include "dataplane/server/listener.h"
#include "dataplane/server/session_pool.h"
#include "dataplane/server/tcp_proxy_host.h"
#include "dataplane/server/worker_context.h"
#include "dataplane/server/worker_faults.h"
#include "dataplane/stats/worker_stats.h"
#include "dataplane/transport/tls_server_context.h"

namespace proxynode {

class Admission;
class RequestHandler;

struct WorkerOptions {
  int index = 0;
  // Ored into the ids of the connections this worker accepts: distinct for every worker the
  // node ever starts (Dataplane: its start order in the bits above kConnectionSerialBits).
  uint64_t connection_id_base = 0;
  int listen_fd = -1;
  // The TLS listener (--https_listen) and its certificate; -1 and null: none.
  int tls_listen_fd = -1;
  TlsServerContext* tls = nullptr;
  bool exclusive_accept = true;  // EPOLLEXCLUSIVE on the shared listening socket
  RequestHandler* handler = nullptr;
  Admission* admission = nullptr;                    // null: no limits (the admin listener)
  ProxyStatsRegistry* proxy_stats = nullptr;         // null: never proxies (the admin listener)
  AccessLog* access_log = nullptr;                   // null: no access log
  TcpProxyStatsRegistry* tcp_proxy_stats = nullptr;  // null: no TCP proxies (the admin listener)
  SharedPacerRegistry* shared_pacers = nullptr;      // the node's shared bandwidth pacers
  ConfigSnapshotPtr config;
  std::shared_ptr<WorkerStats> stats;
  std::string thread_name;
  // Where a retiring worker sends its connections and TCP relays; called in this worker's
  // thread.
  std::function<void(ConnectionHandover)> handover_sink;
  std::function<void(RelayHandover)> relay_handover_sink;
  // Runs in the worker's thread once it listens (Start) — the "applied" of a grow.
  std::function<void()> on_listening;
  // CPU-local mode (cpu_affinity.h): the CPU to pin the thread to, which CPUs have a
  // worker, and where a connection whose packets arrive on another CPU goes (called in this
  // worker's thread). cpu -1: not pinned, no steering.
  int cpu = -1;
  const CpuWorkers* cpu_workers = nullptr;
  std::function<void(ConnectionHandover, int cpu)> cpu_sink;
};

class Worker : public ConnectionOwner {
 public:
  // A connection id is (worker start order << kConnectionSerialBits) | serial: 2^40
  // connections per worker, 2^24 workers started in a node's life.
  static constexpr int kConnectionSerialBits = 40;
  static constexpr Nanos kShareRecheckFirst = kMillisecond;
  static constexpr Nanos kShareRecheckMost = 64 * kMillisecond;

  // Free 16 KiB buffer blocks a worker keeps however quiet it gets (1 MiB); bursts above it
  // are kept while in use and trimmed once they are not (free_list.h).
  static constexpr size_t kBufferBlocksKept = 64;

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
  // Retirement (worker count lowered): stops accepting, hands idle connections to other
  // workers now and busy ones once their responses are out, then runs `stopped_accepting`;
  // retired() turns true when no connection is left.
  void Retire(absl::AnyInvocable<void()> stopped_accepting);
  bool retired() const { return retired_.load(std::memory_order_acquire); }
  // Takes over a connection from a retiring worker.
  void Adopt(ConnectionHandover handover);
  // Takes over a TCP relay from a retiring worker.
  void AdoptRelay(RelayHandover handover);
  // Calls `done` in this worker's thread with a row per open connection.
  void CollectConnections(absl::AnyInvocable<void(std::vector<ConnectionInfo>)> done);
  // Publishes `config` to a retiring worker (its relays take new toxics); no acknowledgement.
  void PublishToRetiring(ConfigSnapshotPtr config);
  // Open connections (approximate when read from another thread).
  // Client connections and relays: this worker's part of what admission counts.
  int64_t connection_count() const {
    return options_.stats->connections_active.Get() +
           static_cast<int64_t>(tcp_proxies_ != nullptr ? tcp_proxies_->relay_count() : 0);
  }
  // True once draining and no connection is left.
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  // Stops the loop and joins the thread (call from another thread).
  void StopAndJoin();

  int index() const { return options_.index; }
  // The CPU the worker is pinned to (CPU-local mode), else -1.
  int cpu() const { return options_.cpu; }
  const std::shared_ptr<WorkerStats>& stats() const { return options_.stats; }

  void OnConnectionClosed(Connection* connection) override;
  void HandOver(Connection* connection) override;
  bool MoveToIncomingCpu(Connection* connection) override;

 private:
  // `tls`: accepted on the TLS listener.
  void Accept(int fd, bool tls);
  // Both listeners (the TLS one when there is one).
  void EnableListeners();
  void DisableListeners();
  // Accept balance (accept_share.h): stops accepting while this worker holds more than its
  // share of the node's connections, and starts again once it no longer does.
  bool KeepsAcceptShare() const;
  void CheckAcceptShare();
  // Starts accepting again if paused and back within the share (or never paused); returns
  // false while still over it.
  bool ResumeIfWithinShare();
  void OnAcceptShareTimer();
  // Stops accepting for good (drain, retirement, stop).
  void StopAccepting();
  // CPU-local mode: the CPU a new connection's packets arrive on, when another worker
  // serves it (-1: serve it here).
  int SteerTarget(int fd) const;
  void UpdateDrained();
  uint64_t NextConnectionId();
  std::vector<Connection*> OpenConnections() const;

  WorkerOptions options_;
  // Before the loop: objects it deletes late (HTTP/2 upstream sessions) still free into it.
  Http2Allocator http2_memory_;
  EventLoop loop_;
  BufferPool pool_;
  SnapshotCache snapshots_;
  DateHeaderCache date_;
  SessionPool sessions_;
  IdleConnections idle_;
  WorkerContext context_;
  Listener listener_;
  std::optional<Listener> tls_listener_;
  // Paused for the accept share: rechecks with a backoff from 1 ms to 64 ms.
  Timer share_timer_;
  Nanos share_recheck_ = 0;
  bool share_paused_ = false;
  uint64_t next_connection_serial_ = 0;
  std::atomic<bool> drained_{false};
  std::atomic<bool> retired_{false};
  std::thread thread_;
  // Before the connections: their proxied exchanges give upstream connections back to it.
  std::unique_ptr<UpstreamPools> upstreams_;
  std::unique_ptr<ProxyContext> proxy_context_;  // names `upstreams_`
  // Needs `proxy_context_`; before the connections, which give their exchanges back to it.
  std::unique_ptr<ProxyExchangePool> exchanges_;
  std::unique_ptr<WorkerFaults> faults_;
  std::unique_ptr<AccessRecorder> access_;
  std::unique_ptr<ServingContext> serving_;  // names the three above; null on the admin listener
  // The TCP proxies' listeners and relays; null on the admin listener.
  std::unique_ptr<TcpProxyHost> tcp_proxies_;
  // Last member: connections go first, while everything they point at still exists.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Connection>> connections_;
};

}  // namespace proxynode
