#include "dataplane/stats/tcp_proxy_stats.h"

#include <algorithm>
#include <tuple>

namespace proxynode {

std::shared_ptr<TcpProxyStats> TcpProxyStatsRegistry::ForProxy(int worker,
                                                               const std::string& proxy) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::lower_bound(proxies_.begin(), proxies_.end(), std::tie(proxy, worker),
                             [](const ProxyEntry& entry, const auto& wanted) {
                               return std::tie(entry.proxy, entry.worker) < wanted;
                             });
  if (it != proxies_.end() && it->proxy == proxy && it->worker == worker) return it->stats;
  return proxies_.insert(it, {proxy, worker, std::make_shared<TcpProxyStats>()})->stats;
}

std::shared_ptr<ToxicStats> TcpProxyStatsRegistry::ForToxic(int worker, const std::string& proxy,
                                                            const std::string& toxic,
                                                            const std::string& type) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::lower_bound(toxics_.begin(), toxics_.end(), std::tie(proxy, toxic, worker),
                             [](const ToxicEntry& entry, const auto& wanted) {
                               return std::tie(entry.proxy, entry.toxic, entry.worker) < wanted;
                             });
  if (it != toxics_.end() && it->proxy == proxy && it->toxic == toxic && it->worker == worker) {
    it->type = type;
    return it->stats;
  }
  return toxics_.insert(it, {proxy, toxic, worker, type, std::make_shared<ToxicStats>()})->stats;
}

std::vector<TcpProxyStatsValues> TcpProxyStatsRegistry::Collect() const {
  std::vector<TcpProxyStatsValues> out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ProxyEntry& entry : proxies_) {
    if (out.empty() || out.back().name != entry.proxy) {
      out.emplace_back();
      out.back().name = entry.proxy;
    }
    TcpProxyStatsValues& values = out.back();
#define PROXYNODE_ADD(name, help) values.name += entry.stats->name.Get();
    PROXYNODE_TCP_PROXY_COUNTERS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
    values.active += entry.stats->active.Get();
  }
  // Toxics are sorted by (proxy, toxic): each proxy's follow one another.
  auto proxy_it = out.begin();
  for (const ToxicEntry& entry : toxics_) {
    while (proxy_it != out.end() && proxy_it->name < entry.proxy) ++proxy_it;
    if (proxy_it == out.end() || proxy_it->name != entry.proxy) continue;
    std::vector<ToxicStatsValues>& toxics = proxy_it->toxics;
    if (toxics.empty() || toxics.back().name != entry.toxic) {
      toxics.push_back({entry.toxic, entry.type, 0, 0});
    }
    toxics.back().type = entry.type;
    toxics.back().applied += entry.stats->applied.Get();
    toxics.back().skipped += entry.stats->skipped.Get();
  }
  return out;
}

}  // namespace proxynode
