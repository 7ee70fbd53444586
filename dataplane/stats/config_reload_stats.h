#pragma once

// Reloads of the watched config file, by outcome. The control plane's reload counts them (on
// the node's main thread only, so a single writer) and /metrics shows them as
// proxynode_config_reloads_total{result="..."}.

#include <cstdint>

#include "dataplane/core/owner_counter.h"

namespace proxynode {

// X(result, help)
#define PROXYNODE_CONFIG_RELOAD_RESULTS(X)                                     \
  X(ok, "The changed file was applied")                                        \
  X(unchanged, "The file changed, but the config it makes is the one running") \
  X(error, "The file was refused (unreadable, empty or invalid); the running config stays")

struct ConfigReloadStats {
#define PROXYNODE_DECLARE_COUNTER(result, help) Counter result;
  PROXYNODE_CONFIG_RELOAD_RESULTS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
};

// Plain values, for readers.
struct ConfigReloadValues {
#define PROXYNODE_DECLARE_VALUE(result, help) uint64_t result = 0;
  PROXYNODE_CONFIG_RELOAD_RESULTS(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE

  static ConfigReloadValues Of(const ConfigReloadStats& stats) {
    ConfigReloadValues values;
#define PROXYNODE_READ(result, help) values.result = stats.result.Get();
    PROXYNODE_CONFIG_RELOAD_RESULTS(PROXYNODE_READ)
#undef PROXYNODE_READ
    return values;
  }
};

}  // namespace proxynode
