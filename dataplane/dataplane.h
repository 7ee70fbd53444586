#pragma once

// The data plane of one node: the listening sockets, the workers, the admin listener, the
// shared admission limits and the stats registry. Owned by the main thread.
//
// Thread contract: every method is safe to call from any non-worker thread.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/cpu_affinity.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/relay/shared_pacer_registry.h"
#include "dataplane/server/admin_handler.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/tcp_listen_sockets.h"
#include "dataplane/server/worker.h"
#include "dataplane/stats/config_reload_stats.h"
#include "dataplane/stats/prometheus.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/stats_registry.h"
#include "dataplane/stats/tcp_proxy_stats.h"
#include "dataplane/transport/tls_server_context.h"

namespace proxynode {

struct DataplaneOptions {
  SocketAddress http_address;
  SocketAddress admin_address;
  NodeConfig config;
  // The kernel caps the backlog at net.core.somaxconn; ask for plenty so a connect storm
  // queues instead of dropping SYNs.
  int listen_backlog = 65535;
  // CPU-local mode (cpu_affinity.h): workers pinned to the allowed CPUs in turn, connections
  // served by the worker on the CPU their packets arrive on.
  bool cpu_local = false;
  // What the binary was built from, for /metrics (proxynode_build_info) and GetStats.
  BuildIdentity build;
  // The access log (--access_log); null: off. Kept until the workers have stopped.
  std::shared_ptr<AccessLog> access_log;
  // TLS termination (--https_listen): HTTP/1.1 and HTTP/2 (ALPN h2) over TLS, with the
  // certificate chain and key in PEM files, reloaded when they change. Unset: none.
  std::optional<SocketAddress> https_address;
  std::string tls_cert_file;
  std::string tls_key_file;
};

class Dataplane {
 public:
  // File descriptors kept back from the connection cap for listeners, the admin side,
  // 503 answers over the limit, and the process's own files.
  static constexpr uint64_t kReservedFds = 128;

  // Binds both listeners (port 0 picks a free port) without starting any thread.
  static absl::StatusOr<std::unique_ptr<Dataplane>> Create(DataplaneOptions options);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  void Start();

  const SocketAddress& http_address() const { return http_address_; }
  const SocketAddress& admin_address() const { return admin_address_; }
  // The TLS listener's address; unset without --https_listen.
  const std::optional<SocketAddress>& https_address() const { return https_address_; }
  // Reloads the TLS certificate and key if their files changed (the main loop's tick): true
  // when it did; an error naming the file when the new ones cannot be used (the old stay).
  absl::StatusOr<bool> ReloadTlsIfChanged();
  const FdLimits& fd_limits() const { return fd_limits_; }
  uint32_t connection_cap() const { return admission_.connection_cap(); }

  // Publishes `config` (already validated) to every worker and, when `config->workers`
  // differs from the running count, starts or retires workers. `applied` runs once every
  // worker has the snapshot, new workers listen and retiring ones no longer accept, on the
  // thread of the last one to get there. Concurrent calls are applied one after the other.
  void PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied);
  ConfigSnapshotPtr config() const;

  // Joins workers that finished retiring (every connection handed over); returns how many.
  // Call periodically from a non-worker thread.
  size_t ReapRetiredWorkers();
  // Workers serving (not retiring).
  uint32_t worker_count() const;

  // Calls `done` (on some worker thread) with every open connection, oldest first.
  void ListConnections(absl::AnyInvocable<void(std::vector<ConnectionInfo>)> done);

  // Shutdown: readiness turns false, the listening socket stops (new connections are
  // refused), idle connections close, busy ones close after their responses. Drained() turns
  // true when no connection is left. Idempotent.
  void BeginDrain();
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  bool Drained() const;
  void AbortConnections();
  // Stops every thread. Called once, at exit.
  void Stop();

  StatsSnapshot CollectStats() const { return stats_.Collect(); }
  // Per upstream and per route (reverse proxy); empty when no proxy route was ever used.
  ProxyStatsSnapshot CollectProxyStats() const { return proxy_stats_.Collect(); }
  // Per TCP proxy and toxic; every proxy ever configured.
  std::vector<TcpProxyStatsValues> CollectTcpProxyStats() const {
    return tcp_proxy_stats_.Collect();
  }
  // The TCP proxies' listening sockets: the config pipeline binds a config's before it is
  // published (TcpListenSockets::Bind).
  TcpListenSockets& tcp_listen_sockets() { return tcp_listen_sockets_; }
  NodeInfo Info() const;
  // The Prometheus text of /metrics; reads /proc (process_* metrics), so not for a worker.
  std::string RenderMetrics() const;
  // The control plane counts its config-file reloads here, for /metrics.
  ConfigReloadStats& config_reloads() { return config_reloads_; }

 private:
  Dataplane(DataplaneOptions options, int http_fd, int admin_fd, FdLimits fd_limits);
  // Binds the start-up config's TCP proxies (before any worker runs).
  absl::Status BindStartupTcpProxies();
  std::unique_ptr<Worker> MakeWorker(const ConfigSnapshotPtr& config,
                                     std::function<void()> on_listening)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(workers_mutex_);
  int FreeWorkerIndex() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(workers_mutex_);
  // Retiring workers' connections and CPU-local moves land here (in the handing worker's
  // thread). Gives a connection to the least-loaded worker; with `cpu` >= 0, to the least-loaded
  // worker pinned to that CPU if there is one.
  void AdoptElsewhere(ConnectionHandover handover, int cpu = -1);
  // A retiring worker's TCP relay: to the least-loaded serving worker.
  void AdoptRelayElsewhere(RelayHandover handover);
  // All workers still running, serving or retiring.
  std::vector<Worker*> AllWorkers() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(workers_mutex_);

  const DataplaneOptions options_;
  const int http_fd_;
  const int admin_fd_;
  const SocketAddress http_address_;
  const SocketAddress admin_address_;
  // TLS termination, when asked for (set by Create before any worker starts).
  int https_fd_ = -1;
  std::optional<SocketAddress> https_address_;
  std::unique_ptr<TlsServerContext> tls_;
  const FdLimits fd_limits_;
  const MonoTime started_at_;
  std::atomic<bool> draining_{false};
  Admission admission_;
  StatsRegistry stats_;
  ProxyStatsRegistry proxy_stats_;
  TcpProxyStatsRegistry tcp_proxy_stats_;
  SharedPacerRegistry shared_pacers_;  // before the workers: their relays use the pacers
  TcpListenSockets tcp_listen_sockets_;
  ConfigReloadStats config_reloads_;
  RespondHandler respond_handler_;
  AdminHandler admin_handler_;

  mutable std::mutex config_mutex_;
  ConfigSnapshotPtr config_ ABSL_GUARDED_BY(config_mutex_);

  // Guards the worker lists. Held briefly by control threads and by a retiring worker's
  // thread when it hands a connection over; never across I/O or a join.
  mutable std::mutex workers_mutex_;
  std::vector<std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(workers_mutex_);
  std::vector<std::unique_ptr<Worker>> retiring_ ABSL_GUARDED_BY(workers_mutex_);
  // Workers made so far: each one's connection ids start from its place in this count.
  uint64_t workers_started_ ABSL_GUARDED_BY(workers_mutex_) = 0;
  std::unique_ptr<Worker> admin_worker_;
  // CPU-local mode: the CPUs workers are pinned to in turn, and how many run on each.
  const std::vector<int> cpus_;
  CpuWorkers cpu_workers_;
};

}  // namespace proxynode
