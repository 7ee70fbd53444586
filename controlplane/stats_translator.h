#pragma once

// Builds the API's Stats message from the data plane's stats snapshots.

#include <vector>

#include "dataplane/stats/prometheus.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/stats_registry.h"
#include "dataplane/stats/tcp_proxy_stats.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

// `proxy` fills Stats.upstreams and Stats.routes (left empty when nothing is proxied).
v1::Stats ToProto(const StatsSnapshot& stats, const ProxyStatsSnapshot& proxy,
                  const NodeInfo& info);

// Fills Stats.tcp_proxies.
void FillTcpProxies(const std::vector<TcpProxyStatsValues>& proxies, v1::Stats* out);

// WatchStats: fills the interval_* latencies of `out` (built from `now`) with what
// was recorded since `before`, node-wide and per worker (matched by index).
void FillIntervalLatency(const StatsSnapshot& now, const StatsSnapshot& before, v1::Stats* out);

}  // namespace proxynode
