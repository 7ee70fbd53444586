#include "dataplane/stats/stats_registry.h"

#include <algorithm>
#include <utility>

namespace proxynode {

void StatsValues::Add(const WorkerStats& stats) {
#define PROXYNODE_ADD(name, metric, help) name += stats.name.Get();
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(status_class) \
  responses_##status_class += stats.responses_##status_class.Get();
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(reason, help) closed_##reason += stats.closed_##reason.Get();
  PROXYNODE_CLOSE_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(name, help) name += stats.name.Get();
  PROXYNODE_WORKER_GAUGES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(name, help) rejected.name += stats.rejected.name.Get();
  PROXYNODE_REJECTION_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
}

void StatsValues::Add(const StatsValues& values) {
#define PROXYNODE_ADD(name, metric, help) name += values.name;
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(status_class) responses_##status_class += values.responses_##status_class;
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(reason, help) closed_##reason += values.closed_##reason;
  PROXYNODE_CLOSE_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(name, help) name += values.name;
  PROXYNODE_WORKER_GAUGES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
#define PROXYNODE_ADD(name, help) rejected.name += values.rejected.name;
  PROXYNODE_REJECTION_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
}

uint64_t StatsValues::rejected_total() const {
  uint64_t sum = 0;
#define PROXYNODE_ADD(name, help) sum += rejected.name;
  PROXYNODE_REJECTION_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  return sum;
}

uint64_t StatsValues::responses_total() const {
  uint64_t sum = 0;
#define PROXYNODE_ADD(status_class) sum += responses_##status_class;
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  return sum;
}

uint64_t StatsValues::connections_closed() const {
  uint64_t sum = 0;
#define PROXYNODE_ADD(reason, help) sum += closed_##reason;
  PROXYNODE_CLOSE_REASONS(PROXYNODE_ADD)
#undef PROXYNODE_ADD
  return sum;
}

void StatsRegistry::AddWorker(int index, std::shared_ptr<const WorkerStats> stats) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_.push_back(Entry{index, std::move(stats)});
}

void StatsRegistry::RetireWorker(int index) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(workers_.begin(), workers_.end(),
                         [index](const Entry& e) { return e.index == index; });
  if (it == workers_.end()) {
    return;
  }
  StatsValues values;
  values.Add(*it->stats);
#define PROXYNODE_ZERO(name, help) values.name = 0;
  PROXYNODE_WORKER_GAUGES(PROXYNODE_ZERO)
#undef PROXYNODE_ZERO
  retired_.Add(values);
  retired_histograms_.push_back(it->stats);
  workers_.erase(it);
}

StatsSnapshot StatsRegistry::Collect() const {
  StatsSnapshot snapshot;
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot.total = retired_;
  snapshot.retired = retired_;
  snapshot.has_retired = !retired_histograms_.empty();
  for (const auto& stats : retired_histograms_) {
    snapshot.request_latency.Add(stats->request_latency);
    snapshot.timer_lateness.Add(stats->timer_lateness);
  }
  for (const Entry& entry : workers_) {
    WorkerStatsValues worker;
    worker.index = entry.index;
    worker.values.Add(*entry.stats);
    worker.timer_lateness.Add(entry.stats->timer_lateness);
    snapshot.total.Add(worker.values);
    snapshot.request_latency.Add(entry.stats->request_latency);
    // The worker's copy, not a second read: the total must be the sum of the rows shown.
    snapshot.timer_lateness.Add(worker.timer_lateness);
    snapshot.workers.push_back(std::move(worker));
  }
  return snapshot;
}

}  // namespace proxynode
