#pragma once

// Statistics of the TCP proxies (issue 19), per proxy and per toxic. As in ProxyStatsRegistry,
// each entry is written by one worker's loop thread only; the registry gives every
// (worker, key) pair its own entry and sums them for readers. Entries outlive config
// changes, so totals never go back.
//
// Thread contract: the registry's methods are safe from any thread; an entry's writes happen
// in its worker's loop thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "dataplane/core/owner_counter.h"

namespace proxynode {

// X(name, help) — per-proxy counters.
#define PROXYNODE_TCP_PROXY_COUNTERS(X)                                         \
  X(connections, "Connections accepted")                                        \
  X(bytes_upstream, "Bytes relayed from clients to the upstream")               \
  X(bytes_downstream, "Bytes relayed from the upstream to clients")             \
  X(bytes_spliced, "Of the bytes relayed, those moved by splice(2) (no toxic)") \
  X(connect_failures, "Upstream connects refused, unreachable or timed out")    \
  X(resets_injected, "Connections reset by a reset_peer toxic")                 \
  X(timeouts_injected, "Connections closed by a timeout toxic")                 \
  X(refused, "Connections closed at once by a down toxic or a disabled proxy")

struct TcpProxyStats {
#define PROXYNODE_DECLARE_COUNTER(name, help) Counter name;
  PROXYNODE_TCP_PROXY_COUNTERS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
  Gauge active;  // relays open now
};

struct ToxicStats {
  Counter applied;  // connections the toxicity draw hit
  Counter skipped;  // connections the draw spared
};

struct ToxicStatsValues {
  std::string name;
  std::string type;
  uint64_t applied = 0;
  uint64_t skipped = 0;
};

struct TcpProxyStatsValues {
  std::string name;
#define PROXYNODE_DECLARE_VALUE(name, help) uint64_t name = 0;
  PROXYNODE_TCP_PROXY_COUNTERS(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
  int64_t active = 0;
  std::vector<ToxicStatsValues> toxics;  // sorted by name
};

class TcpProxyStatsRegistry {
 public:
  // The entry of (worker, proxy), created on first use; the worker keeps the pointer.
  std::shared_ptr<TcpProxyStats> ForProxy(int worker, const std::string& proxy);
  // The entry of (worker, proxy, toxic); `type` is reported beside it (the last one set).
  std::shared_ptr<ToxicStats> ForToxic(int worker, const std::string& proxy,
                                       const std::string& toxic, const std::string& type);
  // Sums over workers, sorted by proxy name.
  std::vector<TcpProxyStatsValues> Collect() const;

 private:
  struct ProxyEntry {
    std::string proxy;
    int worker;
    std::shared_ptr<TcpProxyStats> stats;
  };
  struct ToxicEntry {
    std::string proxy;
    std::string toxic;
    int worker;
    std::string type;
    std::shared_ptr<ToxicStats> stats;
  };
  mutable std::mutex mutex_;
  std::vector<ProxyEntry> proxies_ ABSL_GUARDED_BY(mutex_);
  std::vector<ToxicEntry> toxics_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace proxynode
