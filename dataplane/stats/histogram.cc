#include "dataplane/stats/histogram.h"

#include <algorithm>
#include <bit>

namespace proxynode {

size_t LatencyHistogram::BucketFor(Nanos value) {
  if (value < 0) {
    value = 0;
  }
  auto v = static_cast<uint64_t>(value);
  if (v < kSubBuckets) {
    return static_cast<size_t>(v);
  }
  int exponent = 63 - std::countl_zero(v);  // >= kSubBucketBits
  if (exponent > kMaxExponent) {
    return kBucketCount - 1;
  }
  int shift = exponent - kSubBucketBits;
  size_t sub = static_cast<size_t>(v >> shift) - kSubBuckets;  // drop the leading one
  return kSubBuckets * static_cast<size_t>(shift + 1) + sub;
}

Nanos LatencyHistogram::BucketLow(size_t bucket) {
  if (bucket < kSubBuckets) {
    return static_cast<Nanos>(bucket);
  }
  size_t shift = bucket / kSubBuckets - 1;
  size_t sub = bucket % kSubBuckets;
  return static_cast<Nanos>((kSubBuckets + sub) << shift);
}

Nanos LatencyHistogram::BucketHigh(size_t bucket) {
  if (bucket < kSubBuckets) {
    return static_cast<Nanos>(bucket + 1);
  }
  size_t shift = bucket / kSubBuckets - 1;
  return BucketLow(bucket) + static_cast<Nanos>(size_t{1} << shift);
}

void LatencyHistogram::Record(Nanos value) {
  const size_t index = BucketFor(value);
  // The range grows before the count. A reader racing with this may still scan the old range
  // and miss this one value: that poll undercounts by one, the next sees it.
  if (index < first_used_.load(std::memory_order_relaxed)) {
    first_used_.store(index, std::memory_order_release);
  }
  if (index >= end_used_.load(std::memory_order_relaxed)) {
    end_used_.store(index + 1, std::memory_order_release);
  }
  std::atomic<uint64_t>& bucket = buckets_[index];
  // Single writer: a plain load/store pair avoids a locked read-modify-write.
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::AddTo(std::vector<uint64_t>& totals) const {
  const size_t end = end_used_.load(std::memory_order_acquire);
  const size_t first = first_used_.load(std::memory_order_acquire);
  if (totals.size() < end) {
    totals.resize(end, 0);
  }
  uint64_t added = 0;
  for (size_t i = first; i < end; ++i) {
    uint64_t n = buckets_[i].load(std::memory_order_relaxed);
    totals[i] += n;
    added += n;
  }
  return added;
}

Nanos HistogramSnapshot::Percentile(double q) const { return Percentiles({q}).front(); }

std::vector<Nanos> HistogramSnapshot::Percentiles(
    const std::vector<double>& ascending_quantiles) const {
  std::vector<Nanos> values(ascending_quantiles.size(), 0);
  if (count_ == 0) {
    return values;
  }
  // Rank of the sample at quantile q, 1-based, within [1, count].
  auto rank_of = [this](double q) {
    auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    return std::clamp<uint64_t>(rank, 1, count_);
  };
  size_t next = 0;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size() && next < values.size(); ++i) {
    seen += counts_[i];
    while (next < values.size() && seen >= rank_of(ascending_quantiles[next])) {
      values[next++] = (LatencyHistogram::BucketLow(i) + LatencyHistogram::BucketHigh(i) - 1) / 2;
    }
  }
  return values;
}

uint64_t HistogramSnapshot::CountAtOrBelow(Nanos limit) const {
  uint64_t total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (LatencyHistogram::BucketHigh(i) - 1 > limit) {
      break;
    }
    total += counts_[i];
  }
  return total;
}

void HistogramSnapshot::Add(const HistogramSnapshot& other) {
  if (counts_.size() < other.counts_.size()) {
    counts_.resize(other.counts_.size(), 0);
  }
  for (size_t i = 0; i < other.counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
}

HistogramSnapshot HistogramSnapshot::Since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot interval = *this;
  if (earlier.count_ > count_) {
    return interval;
  }
  for (size_t i = 0; i < interval.counts_.size() && i < earlier.counts_.size(); ++i) {
    if (earlier.counts_[i] > interval.counts_[i]) {
      return *this;  // not an earlier view of the same histograms
    }
    interval.counts_[i] -= earlier.counts_[i];
  }
  interval.count_ -= earlier.count_;
  return interval;
}

double HistogramSnapshot::ApproximateSum() const {
  double sum = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      double mid = static_cast<double>(LatencyHistogram::BucketLow(i) +
                                       LatencyHistogram::BucketHigh(i) - 1) /
                   2.0;
      sum += mid * static_cast<double>(counts_[i]);
    }
  }
  return sum;
}

}  // namespace proxynode
