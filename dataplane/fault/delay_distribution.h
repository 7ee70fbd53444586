#pragma once

// The shapes an injected delay can take (issue 18): fixed, uniform, normal truncated at 0,
// log-normal set by its median and p99, Pareto with a cap, and an empirical distribution
// given as a percentile table. Each draw is one uniform number through the inverse of the
// distribution's CDF: no loop, no allocation, and the same seed repeats the same delays.
//
// Thread contract: a distribution is immutable (it lives in a config snapshot); draws use
// the caller's per-worker FaultRandom.

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/core/clock.h"
#include "dataplane/fault/fault_random.h"

namespace proxynode {

enum class DelayShape : uint8_t { kFixed, kUniform, kNormal, kLogNormal, kPareto, kEmpirical };

// One row of an empirical table: `quantile` in (0, 1] has `value`.
struct DelayQuantile {
  double quantile = 0;
  Nanos value = 0;
  bool operator==(const DelayQuantile&) const = default;
};

struct DelayDistribution {
  DelayShape shape = DelayShape::kFixed;
  Nanos fixed = 0;             // kFixed
  Nanos low = 0, high = 0;     // kUniform: [low, high]
  Nanos mean = 0, stddev = 0;  // kNormal, truncated at 0 (the negative side is not drawn)
  Nanos median = 0, p99 = 0;   // kLogNormal
  Nanos scale = 0;             // kPareto: the smallest value
  double alpha = 0;            // kPareto: the shape (tail index), > 0
  Nanos cap = 0;               // kPareto: values above it are drawn as it
  // kEmpirical: ascending quantiles with non-decreasing values, linearly interpolated. The
  // minimum is a row at quantile 0 when given, else 0; past the last row, its value.
  std::vector<DelayQuantile> table;

  bool operator==(const DelayDistribution&) const = default;
};

// Checks the parameters of `distribution`'s shape; the message names `field`.
absl::Status ValidateDelayDistribution(const DelayDistribution& distribution,
                                       std::string_view field);

// One delay drawn from `distribution` (which must be valid).
Nanos DrawDelay(const DelayDistribution& distribution, FaultRandom& random);

// P(delay <= value): for tests and accuracy measurements against what was drawn.
double DelayCdf(const DelayDistribution& distribution, Nanos value);

// The standard normal distribution's CDF and its inverse (p in (0, 1)), to double precision.
double NormalCdf(double x);
double NormalQuantile(double p);

}  // namespace proxynode
