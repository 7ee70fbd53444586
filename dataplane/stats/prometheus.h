#pragma once

// Renders node statistics in the Prometheus text exposition format (version 0.0.4), in a
// form `promtool check metrics` accepts: counters end in _total, units are in the names,
// one family per metric with its kinds as labels, histograms with exact cumulative buckets.

#include <cstdint>
#include <string>

#include "dataplane/stats/config_reload_stats.h"
#include "dataplane/stats/process_stats.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/stats_registry.h"

namespace proxynode {

// What the running binary was built from (proxynode_build_info).
struct BuildIdentity {
  std::string version;
  std::string commit;
  std::string build_type;
};

struct NodeInfo {
  uint64_t config_version = 0;
  uint32_t workers = 0;
  bool draining = false;
  double uptime_seconds = 0;
  uint64_t fd_soft_limit = 0;
  uint64_t fd_hard_limit = 0;
  int64_t connections = 0;       // node-wide, as admission counts them
  int64_t pending_requests = 0;  // node-wide requests waiting on a delay
  int64_t active_faults = 0;     // node-wide slots held under max_active_faults
  BuildIdentity build;
  ConfigReloadValues config_reloads;
  bool access_log_on = false;
  uint64_t access_log_dropped = 0;  // lines lost because the access log's writer lagged
};

// The proxy's per-upstream and per-route families appear only when `proxy` has entries.
std::string RenderPrometheus(const StatsSnapshot& stats, const ProxyStatsSnapshot& proxy,
                             const NodeInfo& info, const ProcessStats& process);

}  // namespace proxynode
