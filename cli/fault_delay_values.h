#pragma once

// --delay's short forms, parsed into a DelayDistribution:
//   250ms                                   fixed (a bare duration)
//   fixed:250ms
//   uniform:10ms-50ms                       between low and high
//   normal:mean=50ms,stddev=10ms            truncated at 0 by the node
//   lognormal:p50=40ms,p99=900ms            by median and p99
//   pareto:scale=10ms,shape=1.5,cap=2s
//   empirical:p50=20ms,p90=80ms,p99=400ms,p99.9=2s   (a p0 row sets the minimum)
// Syntax only (see fault_values.h): the node checks that p50 < p99, that percentiles rise,
// and the 1h bound. Errors start with "--delay VALUE: ".

#include <string>

#include "absl/status/statusor.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

absl::StatusOr<proxynode::v1::DelayDistribution> ParseDelay(const std::string& text);

}  // namespace proxyctl
