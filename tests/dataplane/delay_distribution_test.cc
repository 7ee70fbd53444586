// Delay distributions drawn by inverse transform: each shape's draws follow its CDF
// (Kolmogorov-Smirnov distance over 200,000 draws), quantiles land where they were set, the
// same seed repeats the same delays, and invalid parameters are refused naming the field.

#include "dataplane/fault/delay_distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

constexpr int kDraws = 200'000;

// Designated initializers would have to name every field (-Wmissing-field-initializers).
DelayDistribution Of(DelayShape shape) {
  DelayDistribution distribution;
  distribution.shape = shape;
  return distribution;
}

std::vector<Nanos> Draw(const DelayDistribution& distribution, uint64_t seed = 42) {
  FaultRandom random(seed);
  std::vector<Nanos> draws(kDraws);
  for (Nanos& draw : draws) draw = DrawDelay(distribution, random);
  std::sort(draws.begin(), draws.end());
  return draws;
}

// The largest gap between the draws' empirical CDF and the distribution's.
double KsDistance(const DelayDistribution& distribution, const std::vector<Nanos>& sorted) {
  double worst = 0;
  const double n = static_cast<double>(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const double cdf = DelayCdf(distribution, sorted[i]);
    worst = std::max({worst, std::abs(cdf - static_cast<double>(i + 1) / n),
                      std::abs(cdf - static_cast<double>(i) / n)});
  }
  return worst;
}

Nanos Quantile(const std::vector<Nanos>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void ExpectNear(Nanos actual, Nanos expected, const char* what) {
  EXPECT_NEAR(static_cast<double>(actual), static_cast<double>(expected),
              std::max(0.02 * static_cast<double>(expected), 1e6))
      << what;
}

TEST(NormalQuantileTest, MatchesKnownValuesAndInvertsTheCdf) {
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.99), 2.326347874040841, 1e-9);
  EXPECT_NEAR(NormalQuantile(1e-6), -4.753424308822899, 1e-8);
  for (double p : {1e-9, 0.001, 0.02, 0.3, 0.7, 0.98, 0.999, 1 - 1e-9}) {
    EXPECT_NEAR(NormalCdf(NormalQuantile(p)), p, 1e-12 + 1e-9 * p) << p;
  }
}

TEST(DelayDistributionTest, FixedIsAlwaysItsValue) {
  DelayDistribution fixed = Of(DelayShape::kFixed);
  fixed.fixed = 100 * kMillisecond;
  std::vector<Nanos> draws = Draw(fixed);
  EXPECT_EQ(draws.front(), 100 * kMillisecond);
  EXPECT_EQ(draws.back(), 100 * kMillisecond);
}

TEST(DelayDistributionTest, UniformSpansItsRange) {
  DelayDistribution uniform = Of(DelayShape::kUniform);
  uniform.low = 10 * kMillisecond;
  uniform.high = 30 * kMillisecond;
  std::vector<Nanos> draws = Draw(uniform);
  EXPECT_GE(draws.front(), 10 * kMillisecond);
  EXPECT_LE(draws.back(), 30 * kMillisecond);
  EXPECT_LT(KsDistance(uniform, draws), 0.01);
  ExpectNear(Quantile(draws, 0.5), 20 * kMillisecond, "median");
}

TEST(DelayDistributionTest, NormalIsTruncatedAtZeroWithoutAPileThere) {
  DelayDistribution normal = Of(DelayShape::kNormal);
  normal.mean = 20 * kMillisecond;
  normal.stddev = 20 * kMillisecond;
  std::vector<Nanos> draws = Draw(normal);
  EXPECT_GE(draws.front(), 0);
  EXPECT_LT(KsDistance(normal, draws), 0.01);
  // Clamping negatives to 0 would put 16% of the draws at exactly 0.
  EXPECT_LT(std::count(draws.begin(), draws.end(), Nanos{0}), kDraws / 1000);
}

TEST(DelayDistributionTest, LogNormalHasTheMedianAndP99ItWasGiven) {
  DelayDistribution lognormal = Of(DelayShape::kLogNormal);
  lognormal.median = 40 * kMillisecond;
  lognormal.p99 = 900 * kMillisecond;
  std::vector<Nanos> draws = Draw(lognormal);
  EXPECT_LT(KsDistance(lognormal, draws), 0.01);
  ExpectNear(Quantile(draws, 0.5), 40 * kMillisecond, "median");
  ExpectNear(Quantile(draws, 0.99), 900 * kMillisecond, "p99");
}

TEST(DelayDistributionTest, ParetoStartsAtItsScaleAndStopsAtItsCap) {
  DelayDistribution pareto = Of(DelayShape::kPareto);
  pareto.scale = 10 * kMillisecond;
  pareto.alpha = 1.5;
  pareto.cap = 2 * kSecond;
  std::vector<Nanos> draws = Draw(pareto);
  EXPECT_GE(draws.front(), 10 * kMillisecond);
  EXPECT_EQ(draws.back(), 2 * kSecond);
  EXPECT_LT(KsDistance(pareto, draws), 0.01);
  // Median of a Pareto: scale * 2^(1/alpha).
  ExpectNear(Quantile(draws, 0.5), static_cast<Nanos>(10e6 * std::pow(2.0, 1 / 1.5)), "median");
}

TEST(DelayDistributionTest, AnEmpiricalTableIsFollowedBetweenItsRows) {
  DelayDistribution table = Of(DelayShape::kEmpirical);
  table.table = {{0.5, 20 * kMillisecond},
                 {0.9, 80 * kMillisecond},
                 {0.99, 400 * kMillisecond},
                 {0.999, 2 * kSecond}};
  std::vector<Nanos> draws = Draw(table);
  EXPECT_LT(KsDistance(table, draws), 0.01);
  // At each row the slope changes, so a sample quantile there is noisy on one side: check the
  // share of draws at or below each row's value instead (binomial, 5 standard deviations).
  // (Past the last row every draw is its value, so its share is 1.)
  for (size_t i = 0; i + 1 < table.table.size(); ++i) {
    const DelayQuantile& row = table.table[i];
    const double share =
        static_cast<double>(std::upper_bound(draws.begin(), draws.end(), row.value) -
                            draws.begin()) /
        kDraws;
    EXPECT_NEAR(share, row.quantile, 5 * std::sqrt(row.quantile * (1 - row.quantile) / kDraws))
        << row.quantile;
  }
  EXPECT_EQ(draws.back(), 2 * kSecond) << "past the last row: its value";
  EXPECT_GE(draws.front(), 0);
}

TEST(DelayDistributionTest, AMinimumRowSetsTheSmallestDelay) {
  DelayDistribution table = Of(DelayShape::kEmpirical);
  table.table = {{0.0, 5 * kMillisecond}, {1.0, 15 * kMillisecond}};
  std::vector<Nanos> draws = Draw(table);
  EXPECT_GE(draws.front(), 5 * kMillisecond);
  EXPECT_LE(draws.back(), 15 * kMillisecond);
  EXPECT_LT(KsDistance(table, draws), 0.01);
}

TEST(DelayDistributionTest, TheSameSeedRepeatsTheSameDelays) {
  DelayDistribution lognormal = Of(DelayShape::kLogNormal);
  lognormal.median = 40 * kMillisecond;
  lognormal.p99 = 900 * kMillisecond;
  FaultRandom a(7), b(7), c(8);
  int same = 0, differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const Nanos from_a = DrawDelay(lognormal, a);
    same += from_a == DrawDelay(lognormal, b) ? 1 : 0;
    differ += from_a != DrawDelay(lognormal, c) ? 1 : 0;
  }
  EXPECT_EQ(same, 1000);
  EXPECT_GT(differ, 990);
}

TEST(DelayDistributionTest, InvalidParametersAreRefusedNamingTheField) {
  auto message = [](const DelayDistribution& d) {
    return std::string(ValidateDelayDistribution(d, "faults[2].delay").message());
  };
  EXPECT_TRUE(ValidateDelayDistribution(DelayDistribution{}, "f").ok());
  DelayDistribution d = Of(DelayShape::kUniform);
  d.low = 5;
  d.high = 1;
  EXPECT_EQ(message(d), "faults[2].delay: uniform needs 0 <= low <= high");
  d = Of(DelayShape::kNormal);
  d.mean = 5;
  EXPECT_EQ(message(d), "faults[2].delay: normal needs mean >= 0 and stddev > 0");
  d = Of(DelayShape::kLogNormal);
  d.median = d.p99 = 10;
  EXPECT_EQ(message(d), "faults[2].delay: lognormal needs 0 < median < p99");
  d = Of(DelayShape::kPareto);
  d.scale = 10;
  d.alpha = 1;
  d.cap = 5;
  EXPECT_EQ(message(d), "faults[2].delay: pareto needs scale > 0, shape > 0 and cap >= scale");
  d = Of(DelayShape::kEmpirical);
  d.table = {{0.9, 10}, {0.5, 20}};
  EXPECT_EQ(message(d),
            "faults[2].delay.empirical.points[1]: percentiles must rise within [0, 100]");
  d.table = {{0.5, 20}, {0.9, 10}};
  EXPECT_EQ(message(d),
            "faults[2].delay.empirical.points[1]: values must not fall (nor be negative)");
  d.table.clear();
  EXPECT_FALSE(ValidateDelayDistribution(d, "f").ok());
}

}  // namespace
}  // namespace proxynode
