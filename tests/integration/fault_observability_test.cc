// What the node tells about its fault rules, against the real binary (issue 18): the
// x-proxynode-fault tag on every response a tagged rule touches (answered by the node or by
// an upstream), per-rule counters kept by name across config changes, and the same counters
// in GetStats, WatchStats and /metrics.

#include <chrono>
#include <string>
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

class FaultObservabilityTest : public FaultFixture {};

v1::FaultRule Tagged(v1::FaultRule rule, const std::string& path_prefix) {
  rule.set_tag_response(true);
  rule.mutable_match()->set_path_prefix(path_prefix);
  return rule;
}

std::vector<v1::FaultRule> TaggedRules(const std::string& base) {
  return {Tagged(DelayRule("delay", 50), base + "delay"),
          Tagged(DelayRule("first-byte", 50, v1::DelayFault::FIRST_BYTE), base + "first-byte"),
          Tagged(BandwidthRule("bandwidth", 1'000'000), base + "bandwidth"),
          Tagged(StatusRule("status", 503), base + "status")};
}

// On a respond route: every kind of rule that fired names itself.
TEST_F(FaultObservabilityTest, ATaggedRuleNamesItselfOnTheNodesOwnResponses) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults(TaggedRules("/")));
  for (const std::string name : {"delay", "first-byte", "bandwidth", "status"}) {
    SCOPED_TRACE(name);
    Exchange exchange = Fetch("/" + name);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.Header("x-proxynode-fault"), name) << exchange.Describe();
  }
  EXPECT_FALSE(Fetch("/untouched").Header("x-proxynode-fault"));
}

// On a proxy route, the same: "Responses the rule touches carry x-proxynode-fault", the
// upstream's responses included.
TEST_F(FaultObservabilityTest, ATaggedRuleNamesItselfOnProxiedResponses) {
  UpstreamServer upstream(UpstreamReply{.text = "upstream\n"});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/p/", {upstream.address()})}));
  ASSERT_TRUE(SetFaults(TaggedRules("/p/")));
  for (const std::string name : {"delay", "first-byte", "bandwidth", "status"}) {
    SCOPED_TRACE(name);
    Exchange exchange = Fetch("/p/" + name);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.Header("x-proxynode-fault"), name) << exchange.Describe();
  }
  EXPECT_FALSE(Fetch("/p/untouched").Header("x-proxynode-fault"));
}

// Counters belong to the rule's name: they survive the rule moving in the list, other rules
// coming and going, and the rule itself being removed and set again.
TEST_F(FaultObservabilityTest, CountersAreKeptByRuleNameAcrossConfigChanges) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule a = StatusRule("a", 503);
  a.mutable_match()->set_path_prefix("/a");
  v1::FaultRule b = StatusRule("b", 502);
  b.mutable_match()->set_path_prefix("/b");
  ASSERT_TRUE(SetFaults({a}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Fetch("/a").status(), 503);

  ASSERT_TRUE(SetFaults({b, a}));  // a moves to position 1
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Fetch("/a").status(), 503);
  EXPECT_EQ(Fetch("/b").status(), 502);
  EXPECT_EQ(RuleStats("a").fired(), 5u);
  EXPECT_EQ(RuleStats("b").fired(), 1u);
  // b was tried before a for /a and did not match: a's match counts only a's.
  EXPECT_EQ(RuleStats("a").matched(), 5u);
  EXPECT_EQ(RuleStats("b").matched(), 1u);

  ASSERT_TRUE(SetFaults({}));  // removed: its counters stay (every rule ever configured)
  EXPECT_EQ(Fetch("/a").status(), 200);
  EXPECT_EQ(RuleStats("a").fired(), 5u);
  ASSERT_TRUE(SetFaults({a}));
  EXPECT_EQ(Fetch("/a").status(), 503);
  EXPECT_EQ(RuleStats("a").fired(), 6u);
}

TEST_F(FaultObservabilityTest, CountersAreTheSameInGetStatsWatchStatsAndMetrics) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = StatusRule("mixed", 503);
  WithFixedDelay(rule, 20);
  rule.set_percent(50);
  v1::FaultRule bandwidth = BandwidthRule("bw", 1'000'000);
  bandwidth.mutable_match()->set_path_prefix("/bw");
  ASSERT_TRUE(SetFaults({bandwidth, rule}, std::nullopt, /*fault_seed=*/3));
  fault::Probe probe = Connect();
  int aborted = 0;
  for (int i = 0; i < 40; ++i) {
    Exchange exchange = probe.RoundTrip(Get("/"), 5s);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    aborted += exchange.status() == 503 ? 1 : 0;
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(probe.RoundTrip(Get("/bw"), 5s).status(), 200);
  ASSERT_GT(aborted, 0);
  ASSERT_LT(aborted, 40);

  v1::FaultRuleStats stats = RuleStats("mixed");
  // The /bw requests stopped at the bandwidth rule, tried first: "mixed" never saw them.
  EXPECT_EQ(stats.matched(), 40u);
  EXPECT_EQ(stats.fired(), static_cast<uint64_t>(aborted));
  EXPECT_EQ(stats.delayed(), static_cast<uint64_t>(aborted));
  EXPECT_EQ(Aborted(stats, "status"), static_cast<uint64_t>(aborted));
  EXPECT_EQ(stats.injected_delay().count(), static_cast<uint64_t>(aborted));
  EXPECT_NEAR(static_cast<double>(ToNanos(stats.injected_delay().p50())), 20e6, 20e6 * 0.02);
  EXPECT_EQ(RuleStats("bw").throttled(), 3u);

  std::vector<v1::Stats> watched;
  grpc::Status status = control_->WatchStats(Millis(100), 1, 5s, &watched);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(watched.size(), 1u);
  bool found = false;
  for (const v1::FaultRuleStats& in_watch : watched[0].faults()) {
    if (in_watch.name() != "mixed") continue;
    found = true;
    EXPECT_EQ(in_watch.fired(), stats.fired());
    EXPECT_EQ(in_watch.matched(), stats.matched());
  }
  EXPECT_TRUE(found) << watched[0].ShortDebugString();

  const std::string rule_label = R"(rule="mixed")";
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_matched_total", rule_label),
            static_cast<double>(stats.matched()));
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_fired_total", rule_label), aborted);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_delayed_total", rule_label), aborted);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_aborted_total", R"(rule="mixed",kind="status")"),
            aborted);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_aborted_total", R"(rule="mixed",kind="reset")"), 0);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_injected_delay_seconds_count", rule_label), aborted);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_throttled_total", R"(rule="bw")"), 3);
}

}  // namespace
}  // namespace proxynode::testing
