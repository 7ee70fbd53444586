#include "dataplane/stats/proxy_stats.h"

#include <algorithm>
#include <tuple>

namespace proxynode {
namespace {

// Entries are kept sorted by (key, worker): lookups are a binary search, and Collect finds
// each key's workers next to each other, already in key order.
template <typename Entries>
auto FindOrAdd(Entries& entries, int worker, const std::string& key) {
  auto it = std::lower_bound(entries.begin(), entries.end(), std::tie(key, worker),
                             [](const auto& entry, const auto& wanted) {
                               return std::tie(entry.key, entry.worker) < wanted;
                             });
  if (it != entries.end() && it->key == key && it->worker == worker) {
    return it->stats;
  }
  using Stats = typename decltype(it->stats)::element_type;
  return entries.insert(it, {worker, key, std::make_shared<Stats>()})->stats;
}

void AddInto(const UpstreamStats& stats, UpstreamStatsValues& values) {
#define PROXYNODE_ADD(name, help) values.name += stats.name.Get();
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_ADD)
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(reason, help) values.errors.reason += stats.errors.reason.Get();
  PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  values.latency.Add(stats.latency);
}

void AddInto(const RouteStats& stats, RouteStatsValues& values) {
#define PROXYNODE_ADD(name, help) values.name += stats.name.Get();
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  for (size_t code = 0; code < kGrpcStatusCount; ++code) {
    values.grpc_status[code] += stats.grpc_status[code].Get();
  }
  values.latency.Add(stats.latency);
}

void AddInto(const FaultRuleStats& stats, FaultRuleStatsValues& values) {
#define PROXYNODE_ADD(name, help) values.name += stats.name.Get();
  PROXYNODE_FAULT_COUNTERS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(kind, help) values.aborted.kind += stats.aborted.kind.Get();
  PROXYNODE_FAULT_ABORTS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  values.injected_delay.Add(stats.injected_delay);
}

// One Values per distinct key, summed over that key's entries (adjacent, sorted by key).
template <typename Values, typename Entries>
std::vector<Values> SumPerKey(const Entries& entries, std::string Values::*key_field) {
  std::vector<Values> out;
  for (const auto& entry : entries) {
    if (out.empty() || out.back().*key_field != entry.key) {
      out.emplace_back();
      out.back().*key_field = entry.key;
    }
    AddInto(*entry.stats, out.back());
  }
  return out;
}

}  // namespace

uint64_t UpstreamStatsValues::errors_total() const {
  uint64_t sum = 0;
#define PROXYNODE_ADD(reason, help) sum += errors.reason;
  PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  return sum;
}

std::shared_ptr<UpstreamStats> ProxyStatsRegistry::ForUpstream(int worker,
                                                               const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  return FindOrAdd(upstreams_, worker, address);
}

std::shared_ptr<RouteStats> ProxyStatsRegistry::ForRoute(int worker, const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  return FindOrAdd(routes_, worker, prefix);
}

std::shared_ptr<FaultRuleStats> ProxyStatsRegistry::ForFaultRule(int worker,
                                                                 const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return FindOrAdd(faults_, worker, name);
}

ProxyStatsSnapshot ProxyStatsRegistry::Collect() const {
  ProxyStatsSnapshot snapshot;
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot.upstreams = SumPerKey<UpstreamStatsValues>(upstreams_, &UpstreamStatsValues::address);
  snapshot.routes = SumPerKey<RouteStatsValues>(routes_, &RouteStatsValues::prefix);
  snapshot.faults = SumPerKey<FaultRuleStatsValues>(faults_, &FaultRuleStatsValues::name);
  return snapshot;
}

}  // namespace proxynode
