#pragma once

// The TCP proxies of one worker (issue 19): a listener per enabled proxy on the socket the
// control plane bound (TcpListenSockets), shared by every worker with EPOLLEXCLUSIVE like
// the HTTP listener; the relays it accepted; the worker's pacers of shared bandwidth toxics;
// and its stats entries. Apply() reconciles all of it with a config snapshot in one loop
// turn, so a config version reaches every relay of this worker at once:
//   - a proxy removed, disabled, or given another listen address or upstream: its listener
//     goes and its relays close (as Toxiproxy restarts a changed proxy);
//   - a proxy whose toxics changed: every relay of it draws and applies them again;
//   - a new proxy: a listener.
//
// Thread contract: owned by one worker; every method runs in its loop thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/fault/fault_random.h"
#include "dataplane/relay/flow_effects.h"
#include "dataplane/relay/pipe_pool.h"
#include "dataplane/relay/shared_pacer_registry.h"
#include "dataplane/relay/tcp_relay.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/listener.h"
#include "dataplane/stats/tcp_proxy_stats.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

class TcpProxyHost final : public RelayOwner, public SharedPacers {
 public:
  struct Options {
    int worker_index = 0;
    EventLoop* loop = nullptr;
    BufferPool* pool = nullptr;
    WorkerStats* worker_stats = nullptr;  // accept errors, rejections
    // The node's connection slots (max_connections): a relay holds one, as a client
    // connection does. Null: no limit (tests).
    Admission* admission = nullptr;
    // The node's shared bandwidth pacers. Null: the host's own (tests).
    SharedPacerRegistry* shared_pacers = nullptr;
    TcpProxyStatsRegistry* stats = nullptr;
    std::function<uint64_t()> next_id;  // the worker's connection ids
  };

  explicit TcpProxyHost(Options options);
  ~TcpProxyHost() override;
  TcpProxyHost(const TcpProxyHost&) = delete;
  TcpProxyHost& operator=(const TcpProxyHost&) = delete;

  // Makes `config` current (see above). `accepting`: listeners of new proxies start enabled.
  void Apply(const ConfigSnapshotPtr& config);
  // Drain, retirement, stop: no new relay; the open ones go on.
  void StopAccepting();
  // Closes every relay now.
  void AbortRelays();
  // Worker retirement: no new relay; relays at rest go to `sink` now, the others as soon as
  // they are at rest (TcpRelay::AtRest).
  void Retire(std::function<void(RelayHandover)> sink);
  // Takes over a relay from a retiring worker, with its admission slot; closes it when this
  // worker's config has no such proxy (removed, disabled, or moved meanwhile).
  void Adopt(RelayHandover handover);
  size_t relay_count() const { return relays_.size(); }
  // A row per open relay.
  std::vector<RelayInfo> DescribeRelays() const;

  void OnRelayClosed(TcpRelay* relay) override;
  void OnRelayAtRest(TcpRelay* relay) override;
  SharedBytePacer* Find(const TcpProxyConfig& proxy, size_t index) override;

  // Called when a relay closes (the worker updates its drained state).
  void set_on_relay_closed(std::function<void()> callback) {
    on_relay_closed_ = std::move(callback);
  }
  // Called after each accepted relay (the worker checks its accept share).
  void set_on_accepted(std::function<void()> callback) { on_accepted_ = std::move(callback); }
  // The worker holds more than its share of the node's connections (server/accept_share.h):
  // its proxies' listeners stop taking connections until it resumes.
  void PauseAccepting(bool paused);

 private:
  struct Proxy {
    RelayProxy relay;  // snapshot, config and stats, as relays of this proxy get them
    std::shared_ptr<TcpProxyStats> stats;
    std::vector<std::shared_ptr<ToxicStats>> toxic_stats;
    std::unique_ptr<Listener> listener;  // null while disabled
  };

  void Accept(Proxy& proxy, int fd);
  // The relay view of `config`'s proxy in this worker, stats entries included.
  RelayProxy MakeRelayProxy(const ConfigSnapshotPtr& snapshot, const TcpProxyConfig& config,
                            Proxy& proxy);
  using PacerMap = absl::flat_hash_map<std::string, std::shared_ptr<SharedBytePacer>>;
  // Fills pacers_ for `config`'s shared bandwidth toxics, from the node's registry.
  void SyncPacers(const NodeConfig& config);

  Options options_;
  SharedPacerRegistry own_pacers_;  // when options_.shared_pacers is null
  FaultRandom random_;
  PipePool pipes_;
  RelayContext context_;
  bool accepting_ = true;
  bool paused_ = false;           // PauseAccepting
  uint32_t max_connections_ = 0;  // the config's, 0: no limit
  std::function<void()> on_relay_closed_;
  std::function<void()> on_accepted_;
  std::function<void(RelayHandover)> handover_sink_;  // set while retiring
  // A shared bandwidth toxic's node-wide pacer, by "proxy/toxic".
  PacerMap pacers_;
  absl::flat_hash_map<std::string, std::unique_ptr<Proxy>> proxies_;
  // Last: relays go first, while the pipes, pacers and proxies they use still exist.
  absl::flat_hash_map<uint64_t, std::unique_ptr<TcpRelay>> relays_;
};

}  // namespace proxynode
