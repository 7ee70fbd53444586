#pragma once

// Collects the workers' statistics into one consistent-enough snapshot: each counter is read
// once with a relaxed load, so totals may mix values from slightly different instants but
// never go backwards. Retired workers' counts are folded into a remainder.
//
// Thread contract: every method is safe to call from any thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "dataplane/stats/histogram.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

// Plain values of one WorkerStats (or of a sum of them).
struct StatsValues {
#define PROXYNODE_DECLARE_VALUE(name, metric, help) uint64_t name = 0;
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
#define PROXYNODE_DECLARE_VALUE(status_class) uint64_t responses_##status_class = 0;
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
#define PROXYNODE_DECLARE_VALUE(reason, help) uint64_t closed_##reason = 0;
  PROXYNODE_CLOSE_REASONS(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE
#define PROXYNODE_DECLARE_VALUE(name, help) uint64_t name = 0;
  struct Rejected {
    PROXYNODE_REJECTION_REASONS(PROXYNODE_DECLARE_VALUE)
  } rejected;
#undef PROXYNODE_DECLARE_VALUE
#define PROXYNODE_DECLARE_VALUE(name, help) int64_t name = 0;
  PROXYNODE_WORKER_GAUGES(PROXYNODE_DECLARE_VALUE)
#undef PROXYNODE_DECLARE_VALUE

  void Add(const WorkerStats& stats);
  void Add(const StatsValues& values);
  uint64_t rejected_total() const;
  uint64_t responses_total() const;
  // The sum over the close reasons.
  uint64_t connections_closed() const;
};

struct WorkerStatsValues {
  int index = 0;
  StatsValues values;
  HistogramSnapshot timer_lateness;  // this worker's alone
};

struct StatsSnapshot {
  StatsValues total;  // live workers plus `retired`
  std::vector<WorkerStatsValues> workers;
  // Counts of workers that were retired, so that node-wide sums never go backwards.
  StatsValues retired;
  bool has_retired = false;
  HistogramSnapshot request_latency;
  HistogramSnapshot timer_lateness;
};

class StatsRegistry {
 public:
  void AddWorker(int index, std::shared_ptr<const WorkerStats> stats);
  // The worker's counts stay in the totals; its gauges (which should be zero) are dropped.
  void RetireWorker(int index);
  StatsSnapshot Collect() const;

 private:
  struct Entry {
    int index;
    std::shared_ptr<const WorkerStats> stats;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> workers_ ABSL_GUARDED_BY(mutex_);
  StatsValues retired_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<const WorkerStats>> retired_histograms_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace proxynode
