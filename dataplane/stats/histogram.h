#pragma once

// A log-linear histogram of durations in nanoseconds: exact below 128 ns, then 128
// sub-buckets per power of two, so any percentile is within 0.4% of the true value. The
// sub-buckets are also split at each of kExposedBounds, the bounds /metrics shows, so that
// the count at or below one of them is exact rather than rounded to a sub-bucket's edge.
// One writer (the owning loop thread) records with relaxed atomics; any thread may read.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/core/clock.h"

namespace proxynode {

namespace histogram_layout {

inline constexpr int kSubBucketBits = 7;
inline constexpr size_t kSubBuckets = size_t{1} << kSubBucketBits;
inline constexpr int kMaxExponent = 42;  // values >= 2^42 ns (~73 min) land in the last bucket
inline constexpr size_t kLogLinearBuckets = kSubBuckets * (kMaxExponent - kSubBucketBits + 2);

// The log-linear sub-bucket of `value`, before any split.
constexpr size_t LogLinearBucket(Nanos value) {
  if (value < 0) {
    value = 0;
  }
  auto v = static_cast<uint64_t>(value);
  if (v < kSubBuckets) {
    return static_cast<size_t>(v);
  }
  int exponent = 63 - std::countl_zero(v);  // >= kSubBucketBits
  if (exponent > kMaxExponent) {
    return kLogLinearBuckets - 1;
  }
  int shift = exponent - kSubBucketBits;
  size_t sub = static_cast<size_t>(v >> shift) - kSubBuckets;  // drop the leading one
  return kSubBuckets * static_cast<size_t>(shift + 1) + sub;
}

// The smallest value of a log-linear sub-bucket.
constexpr Nanos LogLinearLow(size_t bucket) {
  if (bucket < kSubBuckets) {
    return static_cast<Nanos>(bucket);
  }
  size_t shift = bucket / kSubBuckets - 1;
  size_t sub = bucket % kSubBuckets;
  return static_cast<Nanos>((kSubBuckets + sub) << shift);
}

// 1, 2, ..., 9 x 10^k from 100 us to 9 s, then 10 s to 60 s by tens: log-linear, so a delay
// anywhere from 100 us to 60 s falls between two bounds at most 2x apart (1.1x near the top
// of each decade), as Prometheus's bucket counts need to tell delays apart.
constexpr std::array<Nanos, 51> ExposedBounds() {
  std::array<Nanos, 51> bounds{};
  size_t i = 0;
  for (Nanos decade = 100 * kMicrosecond; decade <= kSecond; decade *= 10) {
    for (Nanos m = 1; m <= 9; ++m) {
      bounds[i++] = m * decade;
    }
  }
  for (Nanos s = 10; s <= 60; s += 10) {
    bounds[i++] = s * kSecond;
  }
  return bounds;
}

inline constexpr std::array<Nanos, 51> kExposedBounds = ExposedBounds();

// Whether `bound` needs a sub-bucket split in two: values <= bound below the split.
constexpr bool SplitsABucket(Nanos bound) {
  return LogLinearLow(LogLinearBucket(bound + 1)) != bound + 1;
}

constexpr size_t CountSplits() {
  size_t splits = 0;
  for (Nanos bound : kExposedBounds) {
    if (SplitsABucket(bound)) {
      ++splits;
    }
  }
  return splits;
}

}  // namespace histogram_layout

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = histogram_layout::kSubBucketBits;
  static constexpr size_t kSubBuckets = histogram_layout::kSubBuckets;
  static constexpr int kMaxExponent = histogram_layout::kMaxExponent;
  // The log-linear sub-buckets plus one for each split at an exposed bound.
  static constexpr size_t kBucketCount =
      histogram_layout::kLogLinearBuckets + histogram_layout::CountSplits();
  // The bounds /metrics exposes (its `le`, in nanoseconds), ascending; exact counts.
  static constexpr const std::array<Nanos, 51>& kExposedBounds = histogram_layout::kExposedBounds;

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
  // Values <= `limit` (bucket granularity: exact at each of kExposedBounds).
  uint64_t CountAtOrBelow(Nanos limit) const;
  // Values <= each of LatencyHistogram::kExposedBounds, in one pass: Prometheus's
  // cumulative buckets.
  std::array<uint64_t, LatencyHistogram::kExposedBounds.size()> CountsAtExposedBounds() const;
  // Approximate sum of all values (bucket midpoints, within 0.4%), for Prometheus _sum.
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
