#include "dataplane/server/worker_faults.h"

#include <algorithm>
#include <charconv>
#include <random>

#include "dataplane/server/admission.h"

namespace proxynode {
namespace {

uint64_t RandomSeed() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

Nanos Capped(Nanos delay) {
  return delay > FaultBounds::kMaxDelay ? FaultBounds::kMaxDelay : delay;
}

}  // namespace

WorkerFaults::WorkerFaults(int worker_index, ProxyStatsRegistry* registry)
    : worker_index_(worker_index), registry_(registry), random_(RandomSeed()) {}

void WorkerFaults::Refresh(const ConfigSnapshot& config) {
  config_version_ = config.version;
  if (config.fault_seed != 0 && config.fault_seed != seed_) {
    random_.Seed(config.fault_seed + static_cast<uint64_t>(worker_index_));
  }
  seed_ = config.fault_seed;
  rule_stats_.clear();
  if (registry_ != nullptr) {
    for (const FaultRule& rule : config.faults) {
      rule_stats_.push_back(registry_->ForFaultRule(worker_index_, rule.name));
    }
  }
  shared_pacers_.clear();
  for (const FaultRule& rule : config.faults) {
    BytePacer* pacer = nullptr;
    if (rule.bandwidth.scope == BandwidthScope::kRule && rule.bandwidth.bytes_per_second > 0) {
      std::unique_ptr<BytePacer>& owned = pacers_by_name_[rule.name];
      if (owned == nullptr) owned = std::make_unique<BytePacer>();
      // Each worker paces its share: together they keep the rule's rate.
      const uint64_t share = std::max<uint64_t>(
          1, rule.bandwidth.bytes_per_second / std::max<uint32_t>(1, config.workers));
      if (owned->rate() != share) owned->Start(share, MonotonicNow());
      pacer = owned.get();
    }
    shared_pacers_.push_back(pacer);
  }
}

bool WorkerFaults::Plan(const FaultRule& rule, const FaultRequest& request, FaultRuleStats& stats,
                        FaultPlan& plan) {
  if (rule.delay) {
    plan.delay = Capped(DrawDelay(rule.delay->distribution, random_));
    plan.delay_target = rule.delay->target;
  }
  plan.abort = rule.abort.kind;
  plan.status = rule.abort.status;
  plan.after_bytes = rule.abort.after_bytes;
  plan.bytes_per_second = rule.bandwidth.bytes_per_second;
  plan.bandwidth_scope = rule.bandwidth.scope;
  const HeaderTriggers& triggers = rule.header_triggers;
  if (triggers.enabled) {
    if (auto text = request.fields.Find(kTriggerDelayHeader)) {
      std::optional<Nanos> delay = ParseTriggerDelay(*text);
      if (delay && *delay <= triggers.max_delay) {
        plan.delay = *delay;
      } else {
        stats.trigger_ignored.Add();
      }
    }
    if (auto text = request.fields.Find(kTriggerAbortHeader)) {
      int status = 0;
      auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), status);
      if (error == std::errc() && end == text->data() + text->size() &&
          status >= triggers.min_abort_status && status <= triggers.max_abort_status) {
        plan.abort = AbortKind::kStatus;
        plan.status = status;
      } else {
        stats.trigger_ignored.Add();
      }
    }
    if (auto text = request.fields.Find(kTriggerThroughputHeader)) {
      std::optional<uint64_t> rate = ParseTriggerRate(*text);
      if (rate && *rate >= triggers.min_bytes_per_second) {
        plan.bytes_per_second = *rate;
      } else {
        stats.trigger_ignored.Add();
      }
    }
  }
  return plan.delay > 0 || plan.abort != AbortKind::kNone || plan.bytes_per_second > 0;
}

FaultPlan WorkerFaults::Decide(const FaultRequest& request, const ConfigSnapshot& config,
                               Admission* admission) {
  FaultPlan plan;
  Follow(config);
  if (config.faults.empty()) {
    return plan;
  }
  int64_t wall_now = 0;  // read once, and only for a rule that expires
  for (size_t i = 0; i < config.faults.size(); ++i) {
    const FaultRule& rule = config.faults[i];
    if (rule.expires_at_unix_nanos != 0) {
      if (wall_now == 0) wall_now = RealtimeNanos();
      if (wall_now >= rule.expires_at_unix_nanos) continue;
    }
    if (!MatchesFault(rule.match, request)) {
      continue;
    }
    FaultRuleStats& stats = rule_stats_.empty() ? unrecorded_ : *rule_stats_[i];
    stats.matched.Add();
    if (!Draw(rule.percent)) {
      continue;
    }
    FaultPlan candidate;
    if (!Plan(rule, request, stats, candidate)) {
      continue;  // header triggers only, and the request carries none
    }
    candidate.rule = &rule;
    candidate.stats = &stats;
    if (candidate.bandwidth_scope == BandwidthScope::kRule) {
      candidate.shared_pacer = shared_pacers_[i];
      if (candidate.shared_pacer == nullptr) {
        candidate.bandwidth_scope = BandwidthScope::kResponse;  // a rate set by a trigger
      }
    }
    stats.fired.Add();
    const bool holds_back = candidate.delay > 0 || candidate.bytes_per_second > 0;
    if (holds_back) {
      if (admission != nullptr && !admission->TryAcquireFault(config.max_active_faults)) {
        stats.overflowed.Add();
        candidate.delay = 0;
        candidate.bytes_per_second = 0;
      } else {
        candidate.holds_slot = admission != nullptr;
      }
    }
    if (candidate.delay > 0) {
      stats.delayed.Add();
      stats.injected_delay.Record(candidate.delay);
    }
    if (candidate.bytes_per_second > 0) {
      stats.throttled.Add();
    }
    switch (candidate.abort) {
      case AbortKind::kStatus:
        stats.aborted.status.Add();
        break;
      case AbortKind::kReset:
        stats.aborted.reset.Add();
        break;
      case AbortKind::kClose:
        stats.aborted.close.Add();
        break;
      case AbortKind::kCut:
        stats.aborted.cut.Add();
        break;
      case AbortKind::kSilent:
        stats.aborted.silent.Add();
        break;
      case AbortKind::kNone:
        break;
    }
    return candidate;
  }
  return plan;
}

}  // namespace proxynode
