#pragma once

// Renders Stats for `stats` and `top`: counters with per-second rates, gauges, latency
// percentiles, per-worker rows, and a row per upstream and per route when the node proxies.
// Rates come from two samples of the same node, over the difference of their uptimes (the
// node's clock, so client-side scheduling jitter does not skew them).

#include <optional>
#include <string>

#include "cli/printer.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

int64_t ToNanos(const google::protobuf::Duration& duration);

// Seconds between two samples of one node; nullopt when they cannot be compared (same
// instant, or the node restarted in between).
std::optional<double> SecondsBetween(const proxynode::v1::Stats& before,
                                     const proxynode::v1::Stats& after);

// Per-second change of a counter; -1 (shown as "-") when unknown.
double Rate(uint64_t before, uint64_t after, std::optional<double> seconds);

// Sets `after`'s requests_per_second and accepts_per_second from the two samples (the
// fields WatchStats fills, so `stats -o json` has them too).
void FillRates(const proxynode::v1::Stats& before, proxynode::v1::Stats& after);

struct StatsViewOptions {
  std::string address;
  bool hide_zero_counters = false;  // top: only what moves
};

// The whole view; `before` (may be null) gives the rates.
std::string RenderStats(const proxynode::v1::Stats& now, const proxynode::v1::Stats* before,
                        const StatsViewOptions& options);

// A percentile of `summary` for a table cell: "-" when nothing was measured.
std::string Percentile(const proxynode::v1::LatencySummary& summary,
                       const google::protobuf::Duration& value);

// "serving" or "draining".
std::string NodeState(const proxynode::v1::Stats& stats);

}  // namespace proxyctl
