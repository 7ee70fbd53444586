#pragma once

// A worker's fault engine: tries the config's fault rules in order for each request, and
// the first whose match holds and whose percentage draw hits decides the request's faults
// (docs/faults.md). Holds the worker's seedable generator and its per-rule statistics.
//
// A route's delay and delay_percent, and the node's delay, are the implicit rule tried
// after the configured ones: the request handler sets that delay, and it stands only when
// no configured rule fired.
//
// Thread contract: one per worker; loop thread only.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/byte_pacer.h"
#include "dataplane/fault/fault_random.h"
#include "dataplane/fault/fault_rule.h"
#include "dataplane/server/fault_match.h"
#include "dataplane/stats/proxy_stats.h"

namespace proxynode {

class Admission;

// What the rule that fired does to one request.
struct FaultPlan {
  const FaultRule* rule = nullptr;  // in the request's pinned snapshot; null: none fired
  FaultRuleStats* stats = nullptr;
  Nanos delay = 0;
  DelayTarget delay_target = DelayTarget::kRequest;
  AbortKind abort = AbortKind::kNone;
  int status = 0;            // kStatus
  uint64_t after_bytes = 0;  // kReset, kCut
  uint64_t bytes_per_second = 0;
  BandwidthScope bandwidth_scope = BandwidthScope::kResponse;
  // kRule: the worker's share of the rule's rate, paced for every response it throttles.
  BytePacer* shared_pacer = nullptr;
  bool holds_slot = false;  // took one of max_active_faults' slots: give it back when done
};

class WorkerFaults {
 public:
  // `registry` null: no per-rule statistics (tests).
  WorkerFaults(int worker_index, ProxyStatsRegistry* registry);

  // The faults of `request` under `config`; `admission` enforces max_active_faults (null:
  // no cap). A rule past its expiry is skipped even before the control plane removes it.
  FaultPlan Decide(const FaultRequest& request, const ConfigSnapshot& config, Admission* admission);

  // Follows the config the worker serves (its seed and rules), once per version.
  void Follow(const ConfigSnapshot& config) {
    if (config.version != config_version_ || shared_pacers_.size() != config.faults.size()) {
      Refresh(config);
    }
  }

  // One percentage draw: true for `percent` of calls ([0, 100]).
  bool Draw(double percent) {
    if (percent >= 100) return true;
    if (percent <= 0) return false;
    return random_.Unit() * 100.0 < percent;
  }

  FaultRandom& random() { return random_; }

 private:
  // Follows a new snapshot: per-rule statistics by position, and the seed when it changed.
  void Refresh(const ConfigSnapshot& config);
  // The rule's own faults, replaced by its trigger headers where it takes them.
  bool Plan(const FaultRule& rule, const FaultRequest& request, FaultRuleStats& stats,
            FaultPlan& plan);

  const int worker_index_;
  ProxyStatsRegistry* const registry_;
  uint64_t config_version_ = 0;
  uint64_t seed_ = 0;
  std::vector<std::shared_ptr<FaultRuleStats>> rule_stats_;  // by rule position
  // Pacers of rules that throttle everything they hit together, by rule position; owned by
  // name and never freed, so a response being paced never outlives its pacer.
  std::vector<BytePacer*> shared_pacers_;
  absl::flat_hash_map<std::string, std::unique_ptr<BytePacer>> pacers_by_name_;
  FaultRuleStats unrecorded_;  // when there is no registry
  FaultRandom random_;
};

// Header names a rule with header triggers reads.
inline constexpr std::string_view kTriggerDelayHeader = "x-proxynode-fault-delay";
inline constexpr std::string_view kTriggerAbortHeader = "x-proxynode-fault-abort";
inline constexpr std::string_view kTriggerThroughputHeader = "x-proxynode-fault-throughput";

}  // namespace proxynode
