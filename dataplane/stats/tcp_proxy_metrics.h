#pragma once

// The TCP proxies' families of /metrics (issue 19): per proxy (label `proxy`) and per toxic
// (labels `proxy`, `toxic`, `type`). Nothing when no proxy was ever configured.

#include <string>
#include <vector>

#include "dataplane/stats/tcp_proxy_stats.h"

namespace proxynode {

void RenderTcpProxies(std::string& out, const std::vector<TcpProxyStatsValues>& proxies);

}  // namespace proxynode
