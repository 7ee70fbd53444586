// --delay's short forms: every distribution, and each way to get one wrong.

#include "cli/fault_delay_values.h"

#include <string>
#include <utility>
#include <vector>

#include "cli/stats_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::DelayDistribution;

constexpr int64_t kMs = 1'000'000;

DelayDistribution Parsed(const std::string& text) {
  absl::StatusOr<DelayDistribution> parsed = ParseDelay(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status();
  return parsed.ok() ? *parsed : DelayDistribution();
}

TEST(FaultDelayValuesTest, FixedFromABareDurationOrFixed) {
  EXPECT_EQ(ToNanos(Parsed("250ms").fixed()), 250 * kMs);
  EXPECT_EQ(ToNanos(Parsed("fixed:1.5s").fixed()), 1500 * kMs);
  DelayDistribution zero = Parsed("0s");
  EXPECT_EQ(zero.shape_case(), DelayDistribution::kFixed);
  EXPECT_EQ(ToNanos(zero.fixed()), 0);
}

TEST(FaultDelayValuesTest, Uniform) {
  DelayDistribution d = Parsed("uniform:10ms-50ms");
  ASSERT_EQ(d.shape_case(), DelayDistribution::kUniform);
  EXPECT_EQ(ToNanos(d.uniform().low()), 10 * kMs);
  EXPECT_EQ(ToNanos(d.uniform().high()), 50 * kMs);
}

TEST(FaultDelayValuesTest, NormalInEitherOrder) {
  for (const char* text : {"normal:mean=50ms,stddev=10ms", "normal:stddev=10ms,mean=50ms"}) {
    DelayDistribution d = Parsed(text);
    ASSERT_EQ(d.shape_case(), DelayDistribution::kNormal) << text;
    EXPECT_EQ(ToNanos(d.normal().mean()), 50 * kMs) << text;
    EXPECT_EQ(ToNanos(d.normal().stddev()), 10 * kMs) << text;
  }
}

TEST(FaultDelayValuesTest, LogNormalByMedianAndP99) {
  DelayDistribution d = Parsed("lognormal:p50=40ms,p99=900ms");
  ASSERT_EQ(d.shape_case(), DelayDistribution::kLognormal);
  EXPECT_EQ(ToNanos(d.lognormal().median()), 40 * kMs);
  EXPECT_EQ(ToNanos(d.lognormal().p99()), 900 * kMs);
}

TEST(FaultDelayValuesTest, Pareto) {
  DelayDistribution d = Parsed("pareto:scale=10ms,shape=1.5,cap=2s");
  ASSERT_EQ(d.shape_case(), DelayDistribution::kPareto);
  EXPECT_EQ(ToNanos(d.pareto().scale()), 10 * kMs);
  EXPECT_EQ(d.pareto().shape(), 1.5);
  EXPECT_EQ(ToNanos(d.pareto().cap()), 2000 * kMs);
}

TEST(FaultDelayValuesTest, EmpiricalRowsInTheOrderGiven) {
  DelayDistribution d = Parsed("empirical:p0=5ms,p50=20ms,p90=80ms,p99=400ms,p99.9=2s");
  ASSERT_EQ(d.shape_case(), DelayDistribution::kEmpirical);
  std::vector<std::pair<double, int64_t>> rows;
  for (const auto& point : d.empirical().points()) {
    rows.emplace_back(point.percentile(), ToNanos(point.value()));
  }
  EXPECT_THAT(rows, ::testing::ElementsAre(std::pair{0.0, 5 * kMs}, std::pair{50.0, 20 * kMs},
                                           std::pair{90.0, 80 * kMs}, std::pair{99.0, 400 * kMs},
                                           std::pair{99.9, 2000 * kMs}));
}

TEST(FaultDelayValuesTest, SyntaxOnlyTheNodeJudgesTheValues) {
  // Well-formed but refused by the node (p50 above p99, falling rows, beyond 1h).
  EXPECT_TRUE(ParseDelay("lognormal:p50=900ms,p99=40ms").ok());
  EXPECT_TRUE(ParseDelay("empirical:p99=1s,p50=2s").ok());
  EXPECT_TRUE(ParseDelay("2h").ok());
}

TEST(FaultDelayValuesTest, BadFormsSayWhatIsWrongNamingTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fast", "must be a duration like 250ms, or SHAPE:PARAMETERS: fixed:250ms,"},
      {"-5ms", "must be a duration like 250ms"},
      {"gamma:k=1",
       "unknown shape \"gamma\"; shapes: fixed, uniform, normal, lognormal, pareto, empirical"},
      {"fixed:", "fixed must be a duration >= 0 like 40ms or 1.5s, not \"\""},
      {"fixed:-1s", "fixed must be a duration >= 0"},
      {"uniform:10ms", "uniform needs LOW-HIGH, e.g. 10ms-50ms"},
      {"uniform:10ms-x", "high must be a duration >= 0 like 40ms or 1.5s, not \"x\""},
      {"normal:mean=50ms", "normal needs mean=, stddev="},
      {"normal:mean=50ms,stddev=10ms,skew=1", "normal takes mean=, stddev= (not skew=)"},
      {"normal:mean=50ms,stddev=ten", "stddev must be a duration >= 0"},
      {"lognormal:", "lognormal needs p50=, p99="},
      {"lognormal:p50", "\"p50\" is not KEY=VALUE"},
      {"lognormal:p50=40ms,p50=50ms", "p50 is given twice"},
      {"lognormal:median=40ms,p99=1s", "lognormal takes p50=, p99= (not median=)"},
      {"pareto:scale=10ms,shape=x,cap=2s", "shape must be a number like 1.5, not \"x\""},
      {"pareto:scale=10ms,shape=1.5", "pareto needs scale=, shape=, cap="},
      {"empirical:", "empirical needs percentile rows like p50=20ms"},
      {"empirical:p50=20ms,q90=1s", "empirical takes percentile rows like p50=20ms, not q90="},
      {"empirical:pabc=1s", "pabc must be a number like 1.5, not \"abc\""},
      {"empirical:p50=soon", "p50 must be a duration >= 0"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<DelayDistribution> parsed = ParseDelay(text);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(parsed.status().message());
    EXPECT_THAT(message, ::testing::StartsWith("--delay " + text + ": ")) << message;
    EXPECT_THAT(message, ::testing::HasSubstr(expected)) << text;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace proxyctl
