#pragma once

// Statistics of the reverse proxy, per upstream ("host:port") and per route (path prefix),
// and of the fault engine, per rule (its name).
// Like WorkerStats, each entry is written by one worker's loop thread only; the registry
// hands every (worker, key) pair its own entry and merges them for readers.
//
// Thread contract: ProxyStatsRegistry's methods are safe from any thread; an entry's
// Counter/Gauge/histogram writes happen in the owning worker's loop thread.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/grpc_status.h"
#include "dataplane/stats/histogram.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

// X(name, help) — per-upstream counters.
#define PROXYNODE_UPSTREAM_COUNTERS(X)                                                    \
  X(requests, "Requests sent to this upstream")                                           \
  X(connects, "TCP connections opened to this upstream")                                  \
  X(reused, "Requests sent on a pooled keep-alive connection")                            \
  X(ejections, "Times this upstream was ejected after a failed connect")                  \
  X(cancelled, "Requests given up because their client closed before the response began") \
  X(tls_handshakes, "TLS handshakes completed with this upstream")                        \
  X(tls_resumed, "TLS handshakes with this upstream that resumed a session")

// X(reason, help) — why a request to this upstream failed, with the status the client got.
#define PROXYNODE_UPSTREAM_ERRORS(X)                                             \
  X(connect_failed, "502: connect refused or failed")                            \
  X(connect_timeout, "504: connect not done within connect_timeout")             \
  X(first_byte_timeout, "504: no response byte within first_byte_timeout")       \
  X(total_timeout, "504 (or a cut response): exchange over total_timeout")       \
  X(broken, "502 (or a cut response): reset, early close or malformed response") \
  X(tls, "502: TLS handshake failed (certificate untrusted, expired or for another name)")

// X(name, help) — per-upstream gauges.
#define PROXYNODE_UPSTREAM_GAUGES(X)                                         \
  X(open_connections, "Open connections to this upstream (busy and idle)")   \
  X(idle_connections, "Pooled keep-alive connections waiting for a request") \
  X(outstanding, "Requests sent and not yet answered in full")

struct UpstreamStats {
#define PROXYNODE_DECLARE_COUNTER(name, help) Counter name;
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_DECLARE_COUNTER)
  struct Errors {
    PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_DECLARE_COUNTER)
  } errors;
#undef PROXYNODE_DECLARE_COUNTER
#define PROXYNODE_DECLARE_GAUGE(name, help) Gauge name;
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_DECLARE_GAUGE)
#undef PROXYNODE_DECLARE_GAUGE
  // Request forwarded -> last byte of the response received from the upstream.
  LatencyHistogram latency;
};

// X(name, help) — per-route counters.
#define PROXYNODE_ROUTE_COUNTERS(X)                 \
  X(requests, "Requests matched to this route")     \
  X(delayed, "Requests that got the route's delay") \
  X(errors, "Proxied requests that failed (502/504 or a cut response)")

struct RouteStats {
#define PROXYNODE_DECLARE_COUNTER(name, help) Counter name;
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
  // Proxied gRPC calls by the grpc-status their client got (common/grpc_status.h); a
  // status outside 0-16 counts as UNKNOWN, as gRPC reads it.
  std::array<Counter, kGrpcStatusCount> grpc_status;
  void CountGrpcStatus(int code) {
    grpc_status[code >= 0 && static_cast<size_t>(code) < kGrpcStatusCount
                    ? static_cast<size_t>(code)
                    : static_cast<size_t>(kGrpcStatusUnknown)]
        .Add();
  }
  // Request head parsed -> response handed to the kernel in full (delay included).
  LatencyHistogram latency;
};

// X(name, help) — per fault rule counters (issue 18).
#define PROXYNODE_FAULT_COUNTERS(X)                                                    \
  X(matched, "Requests the rule's match held for")                                     \
  X(fired, "Requests the rule hit (percentage draw or header trigger)")                \
  X(delayed, "Requests the rule delayed")                                              \
  X(throttled, "Requests whose response the rule throttled")                           \
  X(overflowed, "Requests served without the rule's fault: max_active_faults reached") \
  X(trigger_ignored, "Trigger headers out of the rule's bounds or malformed")

// X(kind, help) — aborts per fault rule, by kind.
#define PROXYNODE_FAULT_ABORTS(X)                        \
  X(status, "An HTTP error response")                    \
  X(reset, "A TCP reset, before or during the response") \
  X(close, "A close with no response")                   \
  X(cut, "A response cut short of its Content-Length")   \
  X(silent, "No response and no close")

struct FaultRuleStats {
#define PROXYNODE_DECLARE_COUNTER(name, help) Counter name;
  PROXYNODE_FAULT_COUNTERS(PROXYNODE_DECLARE_COUNTER)
  struct Aborted {
    PROXYNODE_FAULT_ABORTS(PROXYNODE_DECLARE_COUNTER)
  } aborted;
#undef PROXYNODE_DECLARE_COUNTER
  // The delays the rule injected.
  LatencyHistogram injected_delay;
};

// Plain merged values, for readers.
struct UpstreamStatsValues {
  std::string address;
#define PROXYNODE_DECLARE_VALUE(name, help) uint64_t name = 0;
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_DECLARE_VALUE)
  struct Errors {
    PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_DECLARE_VALUE)
  } errors;
#undef PROXYNODE_DECLARE_VALUE
#define PROXYNODE_DECLARE_VALUE(name, help) int64_t name = 0;
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
  HistogramSnapshot latency;
  uint64_t errors_total() const;
};

struct RouteStatsValues {
  std::string prefix;
#define PROXYNODE_DECLARE_VALUE(name, help) uint64_t name = 0;
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
  std::array<uint64_t, kGrpcStatusCount> grpc_status{};
  HistogramSnapshot latency;
};

struct FaultRuleStatsValues {
  std::string name;
#define PROXYNODE_DECLARE_VALUE(name, help) uint64_t name = 0;
  PROXYNODE_FAULT_COUNTERS(PROXYNODE_DECLARE_VALUE)
  struct Aborted {
    PROXYNODE_FAULT_ABORTS(PROXYNODE_DECLARE_VALUE)
  } aborted;
#undef PROXYNODE_DECLARE_VALUE
  HistogramSnapshot injected_delay;
};

struct ProxyStatsSnapshot {
  std::vector<UpstreamStatsValues> upstreams;  // sorted by address
  std::vector<RouteStatsValues> routes;        // sorted by prefix
  std::vector<FaultRuleStatsValues> faults;    // sorted by rule name
};

class ProxyStatsRegistry {
 public:
  // The entry of (worker, address), created on first use; the worker keeps the pointer.
  std::shared_ptr<UpstreamStats> ForUpstream(int worker, const std::string& address);
  std::shared_ptr<RouteStats> ForRoute(int worker, const std::string& prefix);
  std::shared_ptr<FaultRuleStats> ForFaultRule(int worker, const std::string& name);
  // Sums over workers per key. Entries outlive config changes, so totals never go back.
  ProxyStatsSnapshot Collect() const;

 private:
  template <typename T>
  struct Entry {
    int worker;
    std::string key;
    std::shared_ptr<T> stats;
  };
  mutable std::mutex mutex_;
  std::vector<Entry<UpstreamStats>> upstreams_ ABSL_GUARDED_BY(mutex_);
  std::vector<Entry<RouteStats>> routes_ ABSL_GUARDED_BY(mutex_);
  std::vector<Entry<FaultRuleStats>> faults_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace proxynode
