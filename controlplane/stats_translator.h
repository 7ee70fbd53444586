#pragma once

// Builds the API's Stats message from a data-plane stats snapshot.

#include "dataplane/prometheus.h"
#include "dataplane/stats_registry.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

v1::Stats ToProto(const StatsSnapshot& stats, const NodeInfo& info);

}  // namespace proxynode
