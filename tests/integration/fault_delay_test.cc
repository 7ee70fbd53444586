// Delay faults against the real binary (issue 18): every distribution (fixed, uniform,
// normal, log-normal, Pareto, empirical) seen by clients and in the node's injected-delay
// summary; the three targets (the whole request, the response head, the first body byte) on
// respond and proxy routes; the node's and a route's delay as the implicit rule a fired rule
// replaces; the first matching rule whose draw hits applies and no other; percentages within
// binomial bounds, drawn once per request; fault_seed repeats the draws.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/fault_fixture.h"
#include "tests/testing/fault_probe.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using fault::Ending;
using fault::Exchange;

constexpr double kNsPerMs = 1e6;

double ToMs(const google::protobuf::Duration& duration) {
  return static_cast<double>(ToNanos(duration)) / kNsPerMs;
}

// The standard normal quantile, by bisection on its CDF (independent of the node's code).
double NormalQuantile(double p) {
  double low = -10;
  double high = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = (low + high) / 2;
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return (low + high) / 2;
}

// One distribution: how it is configured, its quantile function in milliseconds, and the
// bounds of its support (max: infinity when unbounded).
struct DistributionCase {
  std::string name;
  std::function<void(v1::DelayDistribution&)> configure;
  std::function<double(double)> quantile;
  double min_ms;
  double max_ms;
};

std::vector<DistributionCase> DistributionCases() {
  std::vector<DistributionCase> cases;
  cases.push_back({"fixed", [](v1::DelayDistribution& d) { *d.mutable_fixed() = Millis(120); },
                   [](double) { return 120.0; }, 120, 120});
  cases.push_back({"uniform",
                   [](v1::DelayDistribution& d) {
                     *d.mutable_uniform()->mutable_low() = Millis(50);
                     *d.mutable_uniform()->mutable_high() = Millis(250);
                   },
                   [](double p) { return 50 + 200 * p; }, 50, 250});
  cases.push_back({"normal",
                   [](v1::DelayDistribution& d) {
                     *d.mutable_normal()->mutable_mean() = Millis(150);
                     *d.mutable_normal()->mutable_stddev() = Millis(40);
                   },
                   // Truncation at 0 moves nothing visible: 0 is 3.75 deviations away.
                   [](double p) { return 150 + 40 * NormalQuantile(p); }, 0, INFINITY});
  cases.push_back({"lognormal",
                   [](v1::DelayDistribution& d) {
                     *d.mutable_lognormal()->mutable_median() = Millis(100);
                     *d.mutable_lognormal()->mutable_p99() = Millis(300);
                   },
                   [](double p) {
                     const double sigma = std::log(3.0) / NormalQuantile(0.99);
                     return 100 * std::exp(sigma * NormalQuantile(p));
                   },
                   0, INFINITY});
  cases.push_back({"pareto",
                   [](v1::DelayDistribution& d) {
                     *d.mutable_pareto()->mutable_scale() = Millis(50);
                     d.mutable_pareto()->set_shape(1.5);
                     *d.mutable_pareto()->mutable_cap() = Millis(300);
                   },
                   [](double p) { return std::min(300.0, 50 * std::pow(1 - p, -1 / 1.5)); }, 50,
                   300});
  cases.push_back({"empirical",
                   [](v1::DelayDistribution& d) {
                     for (auto [percentile, ms] : {std::pair{0.0, 20}, std::pair{50.0, 60},
                                                   std::pair{90.0, 150}, std::pair{100.0, 250}}) {
                       auto* point = d.mutable_empirical()->add_points();
                       point->set_percentile(percentile);
                       *point->mutable_value() = Millis(ms);
                     }
                   },
                   [](double p) {
                     const double q[] = {0, 0.5, 0.9, 1.0};
                     const double v[] = {20, 60, 150, 250};
                     for (int i = 1; i < 4; ++i) {
                       if (p <= q[i])
                         return v[i - 1] + (p - q[i - 1]) / (q[i] - q[i - 1]) * (v[i] - v[i - 1]);
                     }
                     return 250.0;
                   },
                   20, 250});
  return cases;
}

class FaultDelayTest : public FaultFixture {};

class FaultDistributionTest : public FaultFixture,
                              public ::testing::WithParamInterface<DistributionCase> {};

// 200 requests at once, one per connection: each waits its own draw. The node's summary of
// the delays it injected has its median and p90 where a sample of 200 puts them (4 standard
// deviations of the order statistic, plus the summary's 1%); what clients saw is never less
// than the draw and stays inside the distribution's support.
TEST_P(FaultDistributionTest, DelaysFollowTheDistribution) {
  const DistributionCase& c = GetParam();
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = Rule("dist");
  c.configure(*rule.mutable_delay()->mutable_distribution());
  ASSERT_TRUE(SetFaults({rule}, std::nullopt, /*fault_seed=*/20260101));

  constexpr int kRequests = 200;
  std::vector<std::string> requests(kRequests, Get("/"));
  std::vector<Exchange> exchanges =
      fault::ConcurrentRoundTrips(proxy_.http_port(), requests, 5s + kFaultSlack);
  std::vector<double> latencies;
  for (const Exchange& exchange : exchanges) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    ASSERT_EQ(exchange.status(), 200) << exchange.Describe();
    latencies.push_back(exchange.MillisToComplete());
  }
  ASSERT_EQ(latencies.size(), static_cast<size_t>(kRequests));
  std::sort(latencies.begin(), latencies.end());
  // Never sooner than the smallest value the distribution draws, nor later than its largest
  // plus the slack.
  EXPECT_GE(latencies.front(), c.min_ms - 1) << c.name;
  if (std::isfinite(c.max_ms)) {
    EXPECT_LE(latencies.back(), c.max_ms + kFaultSlack.count()) << c.name;
  }

  // Where the order statistics of 200 draws lie: the sample p-quantile is between the true
  // quantiles at p -/+ 4 * sqrt(p (1 - p) / n).
  auto spread = [](double p) { return 4 * std::sqrt(p * (1 - p) / kRequests); };
  const double median_low = c.quantile(0.5 - spread(0.5));
  const double median_high = c.quantile(0.5 + spread(0.5));
  const double p90_low = c.quantile(0.9 - spread(0.9));
  const double p90_high = c.quantile(std::min(0.999, 0.9 + spread(0.9)));

  v1::FaultRuleStats stats = RuleStats("dist");
  EXPECT_EQ(stats.fired(), static_cast<uint64_t>(kRequests));
  EXPECT_EQ(stats.delayed(), static_cast<uint64_t>(kRequests));
  ASSERT_EQ(stats.injected_delay().count(), static_cast<uint64_t>(kRequests));
  const double injected_p50 = ToMs(stats.injected_delay().p50());
  const double injected_p90 = ToMs(stats.injected_delay().p90());
  EXPECT_GE(injected_p50, median_low * 0.985) << c.name;
  EXPECT_LE(injected_p50, median_high * 1.015) << c.name;
  EXPECT_GE(injected_p90, p90_low * 0.985) << c.name;
  EXPECT_LE(injected_p90, p90_high * 1.015) << c.name;

  // What clients saw: each latency is its draw plus the node's and the client's own time,
  // so the sample median is at least the draws' lower bound, and above the upper bound by
  // no more than that time.
  const double client_median = latencies[kRequests / 2];
  EXPECT_GE(client_median, median_low - 1) << c.name;
  EXPECT_LE(client_median, median_high + kFaultSlack.count() / 10.0) << c.name;
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_delayed_total", R"(rule="dist")"), kRequests);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FaultDistributionTest, ::testing::ValuesIn(DistributionCases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST_F(FaultDelayTest, RequestAndResponseHeadDelaysHoldTheWholeResponse) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults({[] {
                           v1::FaultRule rule = DelayRule("req", 250, v1::DelayFault::REQUEST);
                           rule.mutable_match()->set_path_prefix("/request");
                           return rule;
                         }(),
                         [] {
                           v1::FaultRule rule =
                               DelayRule("head", 250, v1::DelayFault::RESPONSE_HEAD);
                           rule.mutable_match()->set_path_prefix("/head");
                           return rule;
                         }()}));
  for (const std::string target : {"/request", "/head"}) {
    SCOPED_TRACE(target);
    Exchange exchange = Fetch(target);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.status(), 200);
    EXPECT_GE(exchange.MillisTo(exchange.first_byte), 250) << "a byte left before the delay";
    EXPECT_LT(exchange.MillisToComplete(), 250 + kFaultSlack.count());
  }
  Exchange free = Fetch("/free");
  EXPECT_LT(free.MillisToComplete(), 250) << "a request no rule matches was delayed";
  EXPECT_EQ(RuleStats("req").delayed(), 1u);
  EXPECT_EQ(RuleStats("head").delayed(), 1u);
}

TEST_F(FaultDelayTest, FirstByteDelaySendsTheHeadAtOnceAndHoldsTheBody) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults({DelayRule("ttfb", 400, v1::DelayFault::FIRST_BYTE)}));
  fault::Probe probe = Connect();
  for (int i = 0; i < 2; ++i) {  // and again on the same connection
    Exchange exchange = probe.RoundTrip(Get("/"), 5s);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.status(), 200);
    EXPECT_EQ(exchange.Body(), FaultNodeBody());
    ASSERT_TRUE(exchange.head_complete);
    EXPECT_LT(exchange.MillisTo(exchange.head_complete), 200) << "the head waited";
    EXPECT_GE(exchange.MillisToComplete(), 400) << "the body did not wait";
    EXPECT_LT(exchange.MillisToComplete(), 400 + kFaultSlack.count());
    // Only the head came early, no byte of the body.
    EXPECT_EQ(exchange.HeadBytes() + FaultNodeBody().size(), exchange.bytes.size());
  }
}

// On a proxy route (docs/faults.md, Targets): REQUEST holds the forward; RESPONSE_HEAD
// forwards at once and holds the upstream's response for the delay from its head's arrival;
// FIRST_BYTE passes that head on and holds the body. The upstream takes 200 ms to answer, so
// "from its head's arrival" shows: the client waits 200 ms + the rule's 300 ms.
TEST_F(FaultDelayTest, OnAProxyRouteEachTargetHoldsItsPartOfTheExchange) {
  constexpr int kUpstreamMs = 200;
  constexpr int kRuleMs = 300;
  UpstreamServer upstream(UpstreamReply{
      .text = "upstream\n", .first_byte_delay = std::chrono::milliseconds(kUpstreamMs)});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream.address()})}));
  for (auto target :
       {v1::DelayFault::REQUEST, v1::DelayFault::RESPONSE_HEAD, v1::DelayFault::FIRST_BYTE}) {
    SCOPED_TRACE(v1::DelayFault::Target_Name(target));
    ASSERT_TRUE(SetFaults({DelayRule("slow-upstream", kRuleMs, target)}));
    const size_t before = upstream.request_count();
    fault::Probe probe = Connect();
    const auto sent = fault::Clock::now();
    ASSERT_TRUE(probe.Send(Get("/x")));
    // Halfway through the rule's delay: forwarded, unless the delay is on the request.
    std::this_thread::sleep_for(std::chrono::milliseconds(kRuleMs / 2));
    if (target == v1::DelayFault::REQUEST) {
      EXPECT_EQ(upstream.request_count(), before) << "forwarded before the delay";
    } else {
      EXPECT_EQ(upstream.request_count(), before + 1) << "the forward waited";
    }
    Exchange exchange = probe.Read(sent, 5s, /*stop_at_response=*/true);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.status(), 200);
    EXPECT_EQ(exchange.Body(), "upstream\n");
    ASSERT_TRUE(exchange.head_complete);
    if (target == v1::DelayFault::FIRST_BYTE) {
      EXPECT_GE(exchange.MillisTo(exchange.head_complete), kUpstreamMs);
      EXPECT_LT(exchange.MillisTo(exchange.head_complete), kUpstreamMs + kRuleMs - 50)
          << "the upstream's head was held";
    } else {
      EXPECT_GE(exchange.MillisTo(exchange.first_byte), kUpstreamMs + kRuleMs);
    }
    EXPECT_GE(exchange.MillisToComplete(), kUpstreamMs + kRuleMs);
    EXPECT_LT(exchange.MillisToComplete(), kUpstreamMs + kRuleMs + kFaultSlack.count());
    EXPECT_EQ(upstream.request_count(), before + 1);
  }
  EXPECT_EQ(RuleStats("slow-upstream").delayed(), 3u);
}

// The node's delay and a route's delay are the implicit rule tried last: a rule that fires
// replaces it, whatever it does (an abort, a bandwidth limit or a delay of its own), and a
// rule that matches but does not fire leaves it.
TEST_F(FaultDelayTest, AFiredRuleReplacesTheNodesAndTheRoutesDelay) {
  constexpr int kNodeDelay = 800;
  constexpr int kRouteDelay = 900;
  ASSERT_TRUE(StartFaultNode({"--delay=" + std::to_string(kNodeDelay) + "ms"}));
  v1::Route route = RespondRoute("/route/");
  *route.mutable_delay() = Millis(kRouteDelay);
  route.set_delay_percent(100);
  ASSERT_TRUE(SetRoutes({route}));

  v1::FaultRule abort = StatusRule("abort", 503);
  abort.mutable_match()->set_path_exact("/abort");
  v1::FaultRule bandwidth = BandwidthRule("bandwidth", 10'000'000);
  bandwidth.mutable_match()->set_path_exact("/bandwidth");
  v1::FaultRule shorter = DelayRule("shorter", 100);
  shorter.mutable_match()->set_path_exact("/shorter");
  v1::FaultRule never = StatusRule("never", 418);
  never.mutable_match()->set_path_exact("/never");
  never.set_percent(0);
  v1::FaultRule route_abort = StatusRule("route-abort", 502);
  route_abort.mutable_match()->set_route("/route/");
  route_abort.mutable_match()->set_path_prefix("/route/abort");
  ASSERT_TRUE(SetFaults({abort, bandwidth, shorter, never, route_abort}));

  std::vector<Exchange> exchanges =
      fault::ConcurrentRoundTrips(proxy_.http_port(),
                                  {Get("/abort"), Get("/bandwidth"), Get("/shorter"), Get("/never"),
                                   Get("/plain"), Get("/route/abort"), Get("/route/plain")},
                                  5s + kFaultSlack);
  for (const Exchange& exchange : exchanges) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
  }
  const Exchange& aborted = exchanges[0];
  EXPECT_EQ(aborted.status(), 503);
  EXPECT_LT(aborted.MillisToComplete(), kNodeDelay / 2) << "an abort waited for the node's delay";
  EXPECT_EQ(exchanges[1].status(), 200);
  EXPECT_LT(exchanges[1].MillisToComplete(), kNodeDelay / 2) << "a bandwidth rule added a delay";
  EXPECT_GE(exchanges[2].MillisToComplete(), 100);
  EXPECT_LT(exchanges[2].MillisToComplete(), kNodeDelay / 2) << "the node's delay was added";
  // Matched, never fired (0%): the node's delay stands.
  EXPECT_EQ(exchanges[3].status(), 200);
  EXPECT_GE(exchanges[3].MillisToComplete(), kNodeDelay);
  EXPECT_GE(exchanges[4].MillisToComplete(), kNodeDelay);
  EXPECT_EQ(exchanges[5].status(), 502);
  EXPECT_LT(exchanges[5].MillisToComplete(), kRouteDelay / 2) << "the route's delay stood";
  EXPECT_GE(exchanges[6].MillisToComplete(), kRouteDelay);
  EXPECT_LT(exchanges[6].MillisToComplete(), kRouteDelay + kFaultSlack.count());

  v1::FaultRuleStats never_stats = RuleStats("never");
  EXPECT_EQ(never_stats.matched(), 1u);
  EXPECT_EQ(never_stats.fired(), 0u);
}

// Rules are tried in order; the first whose match holds and whose draw hits applies, and
// no other: a request the first rule's draw misses goes on to the second. Over 1,000
// requests the first rule's 30% falls within binomial bounds, and its counters agree with
// what the client got.
TEST_F(FaultDelayTest, TheFirstRuleWhoseDrawHitsAppliesAndNoOther) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule first = StatusRule("first", 503);
  first.set_percent(30);
  v1::FaultRule second = StatusRule("second", 418);
  v1::FaultRule unreached = StatusRule("unreached", 500);
  ASSERT_TRUE(SetFaults({first, second, unreached}, std::nullopt, /*fault_seed=*/7));

  constexpr int kRequests = 1000;
  int hits_first = 0;
  int hits_second = 0;
  fault::Probe probe = Connect();
  for (int i = 0; i < kRequests; ++i) {
    Exchange exchange = probe.RoundTrip(Get("/"), 5s);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    if (exchange.status() == 503) {
      EXPECT_EQ(exchange.Header("x-proxynode-fault"), "first");
      ++hits_first;
    } else {
      ASSERT_EQ(exchange.status(), 418) << "neither the first nor the second rule applied";
      EXPECT_EQ(exchange.Header("x-proxynode-fault"), "second");
      ++hits_second;
    }
  }
  const BinomialBounds bounds = Binomial(kRequests, 0.30);
  EXPECT_GE(hits_first, bounds.low);
  EXPECT_LE(hits_first, bounds.high);
  v1::FaultRuleStats first_stats = RuleStats("first");
  v1::FaultRuleStats second_stats = RuleStats("second");
  EXPECT_EQ(first_stats.matched(), static_cast<uint64_t>(kRequests));
  EXPECT_EQ(first_stats.fired(), static_cast<uint64_t>(hits_first));
  EXPECT_EQ(second_stats.matched(), static_cast<uint64_t>(hits_second));
  EXPECT_EQ(second_stats.fired(), static_cast<uint64_t>(hits_second));
  EXPECT_EQ(RuleStats("unreached").matched(), 0u);
}

// One draw decides the whole rule: a request it hits gets both the delay and the abort, a
// request it misses gets neither (two draws would give the delay to some 200s).
TEST_F(FaultDelayTest, APercentageIsDrawnOncePerRequest) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = StatusRule("half", 503);
  WithFixedDelay(rule, 400);
  rule.set_percent(50);
  ASSERT_TRUE(SetFaults({rule}, std::nullopt, /*fault_seed=*/11));

  constexpr int kRequests = 100;
  std::vector<Exchange> exchanges = fault::ConcurrentRoundTrips(
      proxy_.http_port(), std::vector<std::string>(kRequests, Get("/")), 5s + kFaultSlack);
  int aborted = 0;
  for (const Exchange& exchange : exchanges) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    if (exchange.status() == 503) {
      ++aborted;
      EXPECT_GE(exchange.MillisToComplete(), 400) << "aborted without the delay";
    } else {
      EXPECT_EQ(exchange.status(), 200);
      EXPECT_LT(exchange.MillisToComplete(), 400) << "delayed without the abort";
    }
  }
  const BinomialBounds bounds = Binomial(kRequests, 0.5);
  EXPECT_GE(aborted, bounds.low);
  EXPECT_LE(aborted, bounds.high);
  v1::FaultRuleStats stats = RuleStats("half");
  EXPECT_EQ(stats.fired(), static_cast<uint64_t>(aborted));
  EXPECT_EQ(stats.delayed(), static_cast<uint64_t>(aborted));
  EXPECT_EQ(Aborted(stats, "status"), static_cast<uint64_t>(aborted));
}

// Which of `count` requests on one connection a 50% rule hits, as "x.x..x".
std::string HitPattern(uint16_t port, int count) {
  fault::Probe probe;
  EXPECT_TRUE(probe.Connect(port));
  std::string pattern;
  for (int i = 0; i < count; ++i) {
    Exchange exchange = probe.RoundTrip(Get("/"), 5s);
    EXPECT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    pattern += exchange.status() == 503 ? 'x' : '.';
  }
  return pattern;
}

// fault_seed makes a run repeatable: a node with one worker and the same seed hits the same
// requests; another seed hits others.
TEST_F(FaultDelayTest, TheSameFaultSeedHitsTheSameRequests) {
  v1::FaultRule rule = StatusRule("coin", 503);
  rule.set_percent(50);
  std::vector<std::string> patterns;
  for (uint64_t seed : {uint64_t{42}, uint64_t{42}, uint64_t{43}}) {
    NodeProcess node;
    ASSERT_TRUE(node.Start({"--workers=1", "--delay=0s"}));
    ControlClient control(node.control_port());
    v1::NodeConfig config;
    *config.add_faults() = rule;
    config.set_fault_seed(seed);
    ASSERT_TRUE(control.Update(config, {"faults", "fault_seed"}).ok());
    patterns.push_back(HitPattern(node.http_port(), 64));
  }
  EXPECT_EQ(patterns[0], patterns[1]) << "the same seed drew differently";
  EXPECT_NE(patterns[0], patterns[2]) << "another seed drew the same 64 times";
  EXPECT_NE(patterns[0].find('x'), std::string::npos);
  EXPECT_NE(patterns[0].find('.'), std::string::npos);
}

// A seed set again after another one, with a request in between, repeats its draws
// (docs/faults.md, Seeds: the same seed set twice in a row continues the sequence).
TEST_F(FaultDelayTest, SettingASeedAgainRepeatsItsDraws) {
  ASSERT_TRUE(StartFaultNode({"--workers=1"}));
  v1::FaultRule rule = StatusRule("coin", 503);
  rule.set_percent(50);
  ASSERT_TRUE(SetFaults({rule}, std::nullopt, /*fault_seed=*/42));
  const std::string first = HitPattern(proxy_.http_port(), 64);

  ASSERT_TRUE(SetFaults({rule}, std::nullopt, /*fault_seed=*/1000));
  HitPattern(proxy_.http_port(), 8);
  ASSERT_TRUE(SetFaults({rule}, std::nullopt, /*fault_seed=*/42));
  EXPECT_EQ(HitPattern(proxy_.http_port(), 64), first);
}

}  // namespace
}  // namespace proxynode::testing
