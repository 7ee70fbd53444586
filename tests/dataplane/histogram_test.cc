#include "dataplane/stats/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>

#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

using H = LatencyHistogram;

// The largest value that is not clamped into the last bucket.
constexpr Nanos kLargestExact = (Nanos{1} << (H::kMaxExponent + 1)) - 1;

void ExpectWithinPercent(Nanos actual, double expected, double percent) {
  EXPECT_LE(std::abs(static_cast<double>(actual) - expected), expected * percent / 100.0)
      << "actual " << actual << " expected " << expected;
}

TEST(HistogramTest, ExactBelow128) {
  for (Nanos v = 0; v < 128; ++v) {
    const size_t b = H::BucketFor(v);
    EXPECT_EQ(b, static_cast<size_t>(v));
    EXPECT_EQ(H::BucketLow(b), v);
    EXPECT_EQ(H::BucketHigh(b), v + 1);
  }
}

TEST(HistogramTest, BucketsAreContiguousAndIncreasing) {
  EXPECT_EQ(H::BucketLow(0), 0);
  for (size_t b = 0; b < H::kBucketCount; ++b) {
    const Nanos low = H::BucketLow(b);
    const Nanos high = H::BucketHigh(b);
    ASSERT_LT(low, high) << "bucket " << b;
    if (b + 1 < H::kBucketCount) {
      ASSERT_EQ(high, H::BucketLow(b + 1)) << "bucket " << b;
    }
    // Both ends of the bucket map back to it.
    ASSERT_EQ(H::BucketFor(low), b) << "bucket " << b;
    ASSERT_EQ(H::BucketFor(high - 1), b) << "bucket " << b;
    // Log-linear: width at most 1/128 of the low end once past the exact range.
    if (b >= H::kSubBuckets) {
      ASSERT_LE((high - low) * static_cast<Nanos>(H::kSubBuckets), low) << "bucket " << b;
    }
  }
  EXPECT_EQ(H::BucketHigh(H::kBucketCount - 1) - 1, kLargestExact);
}

TEST(HistogramTest, ValuesLandInsideTheirBucket) {
  std::mt19937_64 rng(42);
  auto check = [](Nanos v) {
    const size_t b = H::BucketFor(v);
    ASSERT_LT(b, H::kBucketCount) << v;
    ASSERT_LE(H::BucketLow(b), v) << v;
    ASSERT_LT(v, H::BucketHigh(b)) << v;
  };
  for (int e = 0; e <= H::kMaxExponent; ++e) {
    const Nanos p = Nanos{1} << e;
    check(p - 1);
    check(p);
    check(p + 1);
  }
  check(kLargestExact);
  // Uniform over the exponent, then over the mantissa: covers every range evenly.
  std::uniform_int_distribution<int> exponent(0, H::kMaxExponent);
  for (int i = 0; i < 100'000; ++i) {
    const int e = exponent(rng);
    const auto lo = static_cast<uint64_t>(1) << e;
    std::uniform_int_distribution<uint64_t> mantissa(lo, 2 * lo - 1);
    check(static_cast<Nanos>(mantissa(rng)));
  }
}

TEST(HistogramTest, OutOfRangeValuesAreClamped) {
  EXPECT_EQ(H::BucketFor(-1), 0u);
  EXPECT_EQ(H::BucketFor(std::numeric_limits<Nanos>::min()), 0u);
  EXPECT_EQ(H::BucketFor(kLargestExact + 1), H::kBucketCount - 1);
  EXPECT_EQ(H::BucketFor(std::numeric_limits<Nanos>::max()), H::kBucketCount - 1);
}

TEST(HistogramTest, EmptyHistogram) {
  auto h = std::make_unique<H>();
  HistogramSnapshot s;
  s.Add(*h);
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.Percentile(0.0), 0);
  EXPECT_EQ(s.Percentile(0.5), 0);
  EXPECT_EQ(s.Percentile(1.0), 0);
  EXPECT_EQ(s.CountAtOrBelow(std::numeric_limits<Nanos>::max()), 0u);
  EXPECT_EQ(s.ApproximateSum(), 0.0);
  EXPECT_EQ(HistogramSnapshot().Percentile(0.99), 0);
}

TEST(HistogramTest, ExactValuesGiveExactPercentiles) {
  auto h = std::make_unique<H>();
  for (Nanos v = 1; v <= 100; ++v) {
    h->Record(v);
  }
  HistogramSnapshot s;
  s.Add(*h);
  EXPECT_EQ(s.count(), 100u);
  EXPECT_EQ(s.Percentile(0.0), 1);
  EXPECT_EQ(s.Percentile(0.5), 50);
  EXPECT_EQ(s.Percentile(0.9), 90);
  EXPECT_EQ(s.Percentile(0.99), 99);
  EXPECT_EQ(s.Percentile(1.0), 100);
  EXPECT_EQ(s.ApproximateSum(), 5050.0);
}

TEST(HistogramTest, UniformDistributionPercentilesWithinOnePercent) {
  auto h = std::make_unique<H>();
  constexpr Nanos kMax = 1'000'000;
  for (Nanos v = 1; v <= kMax; ++v) {
    h->Record(v);
  }
  HistogramSnapshot s;
  s.Add(*h);
  ASSERT_EQ(s.count(), static_cast<uint64_t>(kMax));
  for (double q : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    SCOPED_TRACE(q);
    ExpectWithinPercent(s.Percentile(q), q * static_cast<double>(kMax), 1.0);
  }
  ExpectWithinPercent(static_cast<Nanos>(s.ApproximateSum()), 500'000.5 * static_cast<double>(kMax),
                      1.0);
}

TEST(HistogramTest, ConstantDistributionPercentilesWithinOnePercent) {
  auto h = std::make_unique<H>();
  constexpr Nanos kValue = 100 * kMillisecond;
  for (int i = 0; i < 1000; ++i) {
    h->Record(kValue);
  }
  HistogramSnapshot s;
  s.Add(*h);
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    SCOPED_TRACE(q);
    ExpectWithinPercent(s.Percentile(q), static_cast<double>(kValue), 1.0);
  }
}

TEST(HistogramTest, PercentileOfTwoClusters) {
  auto h = std::make_unique<H>();
  for (int i = 0; i < 900; ++i) {
    h->Record(1 * kMillisecond);
  }
  for (int i = 0; i < 100; ++i) {
    h->Record(1 * kSecond);
  }
  HistogramSnapshot s;
  s.Add(*h);
  ExpectWithinPercent(s.Percentile(0.5), 1e6, 1.0);
  ExpectWithinPercent(s.Percentile(0.9), 1e6, 1.0);
  ExpectWithinPercent(s.Percentile(0.95), 1e9, 1.0);
  ExpectWithinPercent(s.Percentile(0.999), 1e9, 1.0);
}

TEST(HistogramTest, SnapshotMergesHistograms) {
  auto a = std::make_unique<H>();
  auto b = std::make_unique<H>();
  a->Record(10);
  a->Record(20);
  b->Record(20);
  b->Record(5 * kSecond);
  HistogramSnapshot s;
  s.Add(*a);
  s.Add(*b);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_EQ(s.CountAtOrBelow(20), 3u);
}

TEST(HistogramTest, SinceGivesWhatWasRecordedInTheInterval) {
  auto h = std::make_unique<H>();
  h->Record(10 * kMicrosecond);
  h->Record(20 * kMillisecond);
  HistogramSnapshot before;
  before.Add(*h);
  h->Record(3 * kMillisecond);
  h->Record(3 * kMillisecond);
  h->Record(20 * kMillisecond);
  HistogramSnapshot after;
  after.Add(*h);

  const HistogramSnapshot interval = after.Since(before);
  EXPECT_EQ(interval.count(), 3u);
  EXPECT_EQ(interval.CountAtOrBelow(kMillisecond), 0u);  // the 10 us value was before
  EXPECT_EQ(interval.CountAtOrBelow(4 * kMillisecond), 2u);
  ExpectWithinPercent(interval.Percentile(0.5), 3e6, 1.0);
  EXPECT_EQ(after.Since(after).count(), 0u);
}

TEST(HistogramTest, SinceALargerSnapshotCountsEverythingAsNew) {
  // A worker index reused by a new worker: its histogram starts again from nothing.
  auto old_worker = std::make_unique<H>();
  auto new_worker = std::make_unique<H>();
  old_worker->Record(kMillisecond);
  old_worker->Record(2 * kMillisecond);
  new_worker->Record(5 * kMillisecond);
  HistogramSnapshot before;
  before.Add(*old_worker);
  HistogramSnapshot after;
  after.Add(*new_worker);
  EXPECT_EQ(after.Since(before).count(), 1u);
  ExpectWithinPercent(after.Since(before).Percentile(1.0), 5e6, 1.0);
}

// AddTo reads only the range of buckets ever used; a snapshot grows as far as needed, whatever
// order the histograms come in.
TEST(HistogramTest, SnapshotMergesDisjointRangesInEitherOrder) {
  auto high = std::make_unique<H>();
  auto low = std::make_unique<H>();
  auto empty = std::make_unique<H>();
  high->Record(std::numeric_limits<Nanos>::max());  // the last bucket
  high->Record(2 * kSecond);
  low->Record(3);
  low->Record(3);
  for (bool high_first : {true, false}) {
    SCOPED_TRACE(high_first);
    HistogramSnapshot s;
    s.Add(high_first ? *high : *low);
    s.Add(*empty);
    s.Add(high_first ? *low : *high);
    EXPECT_EQ(s.count(), 4u);
    EXPECT_EQ(s.CountAtOrBelow(3), 2u);
    EXPECT_EQ(s.Percentile(0.5), 3);
    ExpectWithinPercent(s.Percentile(0.75), 2e9, 1.0);
    EXPECT_EQ(s.CountAtOrBelow(std::numeric_limits<Nanos>::max()), 4u);
  }
}

TEST(HistogramTest, CountAtOrBelowExactRange) {
  auto h = std::make_unique<H>();
  for (int i = 0; i < 10; ++i) {
    h->Record(50);
  }
  for (int i = 0; i < 20; ++i) {
    h->Record(100);
  }
  HistogramSnapshot s;
  s.Add(*h);
  EXPECT_EQ(s.CountAtOrBelow(0), 0u);
  EXPECT_EQ(s.CountAtOrBelow(49), 0u);
  EXPECT_EQ(s.CountAtOrBelow(50), 10u);
  EXPECT_EQ(s.CountAtOrBelow(99), 10u);
  EXPECT_EQ(s.CountAtOrBelow(100), 30u);
  EXPECT_EQ(s.CountAtOrBelow(kSecond), 30u);
  EXPECT_EQ(s.CountAtOrBelow(-1), 0u);
}

TEST(HistogramTest, CountAtOrBelowHasBucketGranularity) {
  auto h = std::make_unique<H>();
  constexpr Nanos kValue = 1'234'567;  // inside a sub-bucket, away from the exposed bounds
  h->Record(kValue);
  h->Record(3 * kValue);
  HistogramSnapshot s;
  s.Add(*h);
  const size_t b = H::BucketFor(kValue);
  // The whole bucket counts once the limit covers its last value, never before.
  EXPECT_EQ(s.CountAtOrBelow(H::BucketLow(b) - 1), 0u);
  EXPECT_EQ(s.CountAtOrBelow(H::BucketHigh(b) - 2), 0u);
  EXPECT_EQ(s.CountAtOrBelow(H::BucketHigh(b) - 1), 1u);
  EXPECT_EQ(s.CountAtOrBelow(2 * kValue), 1u);
  EXPECT_EQ(s.CountAtOrBelow(4 * kValue), 2u);
  EXPECT_EQ(s.CountAtOrBelow(std::numeric_limits<Nanos>::max()), 2u);
  // Monotone in the limit.
  uint64_t previous = 0;
  for (Nanos limit = 0; limit < 5 * kValue; limit += 9973) {
    const uint64_t c = s.CountAtOrBelow(limit);
    ASSERT_GE(c, previous) << limit;
    previous = c;
  }
}

// The bounds /metrics shows: log-linear from 100 us to 60 s, neighbours at most 2x apart.
TEST(HistogramTest, ExposedBoundsSpan100MicrosecondsTo60Seconds) {
  ASSERT_FALSE(H::kExposedBounds.empty());
  EXPECT_EQ(H::kExposedBounds.front(), 100 * kMicrosecond);
  EXPECT_EQ(H::kExposedBounds.back(), 60 * kSecond);
  for (size_t i = 1; i < H::kExposedBounds.size(); ++i) {
    EXPECT_GT(H::kExposedBounds[i], H::kExposedBounds[i - 1]) << i;
    EXPECT_LE(H::kExposedBounds[i], 2 * H::kExposedBounds[i - 1]) << i;
  }
}

// A value equal to a bound counts at it, one nanosecond more does not: the sub-buckets are
// split there, so Prometheus's cumulative counts are exact, not a sub-bucket off.
TEST(HistogramTest, CountsAtTheExposedBoundsAreExact) {
  auto h = std::make_unique<H>();
  for (Nanos bound : H::kExposedBounds) {
    h->Record(bound);
    h->Record(bound + 1);
  }
  HistogramSnapshot s;
  s.Add(*h);
  const auto counts = s.CountsAtExposedBounds();
  for (size_t i = 0; i < H::kExposedBounds.size(); ++i) {
    SCOPED_TRACE(H::kExposedBounds[i]);
    // Every bound up to this one, and the value just above each bound below it.
    EXPECT_EQ(counts[i], 2 * i + 1);
    EXPECT_EQ(s.CountAtOrBelow(H::kExposedBounds[i]), 2 * i + 1);
    EXPECT_EQ(H::BucketHigh(H::BucketFor(H::kExposedBounds[i])), H::kExposedBounds[i] + 1);
  }
}

TEST(HistogramTest, CountsAtExposedBoundsOfValuesOutsideThem) {
  auto h = std::make_unique<H>();
  h->Record(5 * kMicrosecond);  // below the first bound
  h->Record(150 * kMillisecond);
  h->Record(2 * 60 * kSecond);  // above the last
  HistogramSnapshot s;
  s.Add(*h);
  const auto counts = s.CountsAtExposedBounds();
  EXPECT_EQ(counts.front(), 1u);
  for (size_t i = 0; i < H::kExposedBounds.size(); ++i) {
    EXPECT_EQ(counts[i], H::kExposedBounds[i] < 150 * kMillisecond ? 1u : 2u)
        << H::kExposedBounds[i];
  }
  EXPECT_EQ(HistogramSnapshot().CountsAtExposedBounds().back(), 0u);
}

TEST(HistogramTest, NegativeAndHugeValuesAreCounted) {
  auto h = std::make_unique<H>();
  h->Record(-5);
  h->Record(std::numeric_limits<Nanos>::max());
  HistogramSnapshot s;
  s.Add(*h);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.Percentile(0.0), 0);
  EXPECT_EQ(s.CountAtOrBelow(0), 1u);
  EXPECT_EQ(s.CountAtOrBelow(std::numeric_limits<Nanos>::max()), 2u);
}

}  // namespace
}  // namespace proxynode
