#include "dataplane/stats/histogram.h"

#include <algorithm>

namespace proxynode {

namespace {

using histogram_layout::kExposedBounds;
using histogram_layout::kLogLinearBuckets;
using histogram_layout::kSubBuckets;
using histogram_layout::LogLinearBucket;
using histogram_layout::LogLinearLow;

constexpr uint8_t kNoSplit = 0xff;

struct SubBucket {
  uint16_t first = 0;        // the bucket of its values (those <= the bound, when split)
  uint8_t split = kNoSplit;  // the index in kExposedBounds of the bound that splits it
};

struct Layout {
  std::array<SubBucket, kLogLinearBuckets> sub_buckets{};
  // Bucket i holds [lows[i], lows[i + 1]).
  std::array<Nanos, LatencyHistogram::kBucketCount + 1> lows{};
};

// Built at compile time: each log-linear sub-bucket in turn, a split one as two buckets.
constexpr Layout MakeLayout() {
  Layout layout;
  size_t bound = 0;  // the first exposed bound above the sub-buckets placed so far
  size_t bucket = 0;
  for (size_t sub = 0; sub < kLogLinearBuckets; ++sub) {
    SubBucket& entry = layout.sub_buckets[sub];
    entry.first = static_cast<uint16_t>(bucket);
    layout.lows[bucket++] = LogLinearLow(sub);
    for (; bound < kExposedBounds.size() && LogLinearBucket(kExposedBounds[bound]) == sub;
         ++bound) {
      if (!histogram_layout::SplitsABucket(kExposedBounds[bound])) {
        continue;
      }
      if (entry.split != kNoSplit) {
        throw "two exposed bounds in one sub-bucket";  // not a constant: fails the build
      }
      entry.split = static_cast<uint8_t>(bound);
      layout.lows[bucket++] = kExposedBounds[bound] + 1;
    }
  }
  const size_t last = kLogLinearBuckets - 1;
  layout.lows[bucket] = LogLinearLow(last) + (Nanos{1} << (last / kSubBuckets - 1));
  return layout;
}

constexpr Layout kLayout = MakeLayout();

}  // namespace

size_t LatencyHistogram::BucketFor(Nanos value) {
  const SubBucket& sub = kLayout.sub_buckets[LogLinearBucket(value)];
  if (sub.split != kNoSplit && value > kExposedBounds[sub.split]) {
    return size_t{sub.first} + 1;
  }
  return sub.first;
}

Nanos LatencyHistogram::BucketLow(size_t bucket) { return kLayout.lows[bucket]; }

Nanos LatencyHistogram::BucketHigh(size_t bucket) { return kLayout.lows[bucket + 1]; }

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

std::array<uint64_t, LatencyHistogram::kExposedBounds.size()>
HistogramSnapshot::CountsAtExposedBounds() const {
  std::array<uint64_t, kExposedBounds.size()> counts{};
  size_t next = 0;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size() && next < counts.size(); ++i) {
    // The buckets are split at every exposed bound: none holds values on both sides of one.
    while (next < counts.size() && LatencyHistogram::BucketLow(i) > kExposedBounds[next]) {
      counts[next++] = seen;
    }
    seen += counts_[i];
  }
  while (next < counts.size()) {
    counts[next++] = seen;
  }
  return counts;
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
