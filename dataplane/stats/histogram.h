#pragma once

// A log-linear histogram of durations in nanoseconds: exact below 128 ns, then 128
// sub-buckets per power of two, so any percentile is within 0.4% of the true value.
// One writer (the owning loop thread) records with relaxed atomics; any thread may read.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/core/clock.h"

namespace proxynode {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr size_t kSubBuckets = size_t{1} << kSubBucketBits;
  static constexpr int kMaxExponent = 42;  // values >= 2^42 ns (~73 min) land in the last bucket
  static constexpr size_t kBucketCount = kSubBuckets * (kMaxExponent - kSubBucketBits + 2);

  // Owner thread only.
  void Record(Nanos value);

  static size_t BucketFor(Nanos value);
  // The smallest and one-past-largest value a bucket holds.
  static Nanos BucketLow(size_t bucket);
  static Nanos BucketHigh(size_t bucket);

  // Any thread: adds this histogram's counts into `totals`, growing it as far as the highest
  // bucket in use; returns how many values that added. Only the buckets between the lowest
  // and highest ever used are read: a few hundred of the thousands, so a stats poll stays cheap.
  uint64_t AddTo(std::vector<uint64_t>& totals) const;

 private:
  std::array<std::atomic<uint64_t>, kBucketCount> buckets_{};
  // [first_used_, end_used_): the buckets ever recorded into (empty while first >= end).
  std::atomic<size_t> first_used_{kBucketCount};
  std::atomic<size_t> end_used_{0};
};

// A merged, immutable copy of one or more histograms, for percentiles and export.
class HistogramSnapshot {
 public:
  HistogramSnapshot() = default;
  void Add(const LatencyHistogram& histogram) { count_ += histogram.AddTo(counts_); }
  // Merges another snapshot (a total made of the very copies its parts show).
  void Add(const HistogramSnapshot& other);

  uint64_t count() const { return count_; }
  // Value at quantile q in [0, 1] (midpoint of its bucket); 0 when empty.
  Nanos Percentile(double q) const;
  // Several quantiles (ascending) in one pass over the buckets.
  std::vector<Nanos> Percentiles(const std::vector<double>& ascending_quantiles) const;
  // Values <= `limit` (bucket granularity), for Prometheus cumulative buckets.
  uint64_t CountAtOrBelow(Nanos limit) const;
  // Approximate sum of all values (bucket midpoints), for Prometheus _sum.
  double ApproximateSum() const;
  // What was recorded after `earlier` (an earlier snapshot of the same histograms): the
  // figures of one interval. If `earlier` holds more than this one (the histogram was
  // replaced, say a worker index reused), everything here counts as new.
  HistogramSnapshot Since(const HistogramSnapshot& earlier) const;

 private:
  std::vector<uint64_t> counts_;  // as long as the highest bucket any added histogram used
  uint64_t count_ = 0;
};

}  // namespace proxynode
