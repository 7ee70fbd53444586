// Header-triggered faults and max_active_faults against the real binary (issue 18).
// Triggers: a rule with header_triggers enabled takes x-proxynode-fault-delay, -abort and
// -throughput from the request within its bounds, in place of its own faults; values out of
// bounds or malformed are ignored and counted as trigger_ignored; with triggers disabled (or
// no rule matching) the headers do nothing at all. max_active_faults: requests delayed or
// throttled at once, node-wide, never exceed it; the rest are served without the fault and
// counted as overflowed, and a slot comes back when its response is done.

#include <chrono>
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

class FaultTriggerTest : public FaultFixture {
 protected:
  // A rule on /t that takes trigger headers and does nothing else.
  static v1::FaultRule TriggerRule(const std::string& name = "triggers") {
    v1::FaultRule rule = Rule(name);
    rule.mutable_match()->set_path_prefix("/t");
    rule.mutable_header_triggers()->set_enabled(true);
    rule.set_tag_response(true);
    return rule;
  }
};

TEST_F(FaultTriggerTest, TriggerHeadersSetTheDelayTheAbortAndTheThroughput) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults({TriggerRule()}));

  Exchange delayed = Fetch("/t", "x-proxynode-fault-delay: 300ms\r\n");
  ASSERT_EQ(delayed.ending, Ending::kOpen) << delayed.Describe();
  EXPECT_EQ(delayed.status(), 200);
  EXPECT_GE(delayed.MillisToComplete(), 300);
  EXPECT_LT(delayed.MillisToComplete(), 300 + kFaultSlack.count());
  EXPECT_EQ(delayed.Header("x-proxynode-fault"), "triggers");

  // Field names are case-insensitive.
  Exchange aborted = Fetch("/t", "X-ProxyNode-Fault-Abort: 503\r\n");
  ASSERT_EQ(aborted.ending, Ending::kOpen) << aborted.Describe();
  EXPECT_EQ(aborted.status(), 503);
  EXPECT_EQ(aborted.Header("x-proxynode-fault"), "triggers");

  // 2 KiB/s for ~1.1 KB: about half a second (less the pacer's 256-byte burst).
  Exchange throttled = Fetch("/t", "x-proxynode-fault-throughput: 2KiB\r\n");
  ASSERT_EQ(throttled.ending, Ending::kOpen) << throttled.Describe();
  EXPECT_EQ(throttled.Body(), FaultNodeBody());
  const double paced_ms = (static_cast<double>(throttled.bytes.size()) - 256) * 1000.0 / 2048;
  EXPECT_GE(throttled.MillisToComplete(), paced_ms);
  EXPECT_LT(throttled.MillisToComplete(), paced_ms + kFaultSlack.count());

  // All three at once, in seconds.
  Exchange all = Fetch("/t",
                       "x-proxynode-fault-delay: 0.2s\r\nx-proxynode-fault-abort: 429\r\n"
                       "x-proxynode-fault-throughput: 64KiB\r\n");
  ASSERT_EQ(all.ending, Ending::kOpen) << all.Describe();
  EXPECT_EQ(all.status(), 429);
  EXPECT_GE(all.MillisToComplete(), 200);

  // Without trigger headers the rule has nothing to do: it does not fire.
  Exchange plain = Fetch("/t");
  EXPECT_EQ(plain.status(), 200);
  EXPECT_FALSE(plain.Header("x-proxynode-fault")) << plain.Describe();

  v1::FaultRuleStats stats = RuleStats("triggers");
  EXPECT_EQ(stats.matched(), 5u);
  EXPECT_EQ(stats.fired(), 4u);
  EXPECT_EQ(stats.delayed(), 2u);
  EXPECT_EQ(Aborted(stats, "status"), 2u);
  EXPECT_EQ(stats.throttled(), 2u);
  EXPECT_EQ(stats.trigger_ignored(), 0u);
}

TEST_F(FaultTriggerTest, TriggerValuesReplaceTheRulesOwnFaults) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = TriggerRule();
  WithFixedDelay(rule, 900);
  ASSERT_TRUE(SetFaults({rule}));
  Exchange own = Fetch("/t");
  EXPECT_GE(own.MillisToComplete(), 900);
  Exchange shorter = Fetch("/t", "x-proxynode-fault-delay: 50\r\n");  // milliseconds
  EXPECT_GE(shorter.MillisToComplete(), 50);
  EXPECT_LT(shorter.MillisToComplete(), 900) << "the rule's own delay was kept";
}

TEST_F(FaultTriggerTest, OutOfBoundsOrMalformedTriggersAreIgnoredAndCounted) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = TriggerRule();
  v1::HeaderTriggers* triggers = rule.mutable_header_triggers();
  *triggers->mutable_max_delay() = Millis(500);
  triggers->set_min_abort_status(500);
  triggers->set_max_abort_status(503);
  triggers->set_min_bytes_per_second(10'000);
  ASSERT_TRUE(SetFaults({rule}));

  const std::vector<std::string> ignored = {
      "x-proxynode-fault-delay: 2s\r\n",         // over max_delay
      "x-proxynode-fault-delay: soon\r\n",       // malformed
      "x-proxynode-fault-delay: -5ms\r\n",       // negative
      "x-proxynode-fault-abort: 404\r\n",        // under min_abort_status
      "x-proxynode-fault-abort: 504\r\n",        // over max_abort_status
      "x-proxynode-fault-abort: 50x\r\n",        // malformed
      "x-proxynode-fault-throughput: 1KiB\r\n",  // under min_bytes_per_second
      "x-proxynode-fault-throughput: fast\r\n",  // malformed
      "x-proxynode-fault-throughput: 64 furlongs\r\n",
  };
  for (const std::string& field : ignored) {
    SCOPED_TRACE(field);
    Exchange exchange = Fetch("/t", field);
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.status(), 200);
    EXPECT_LT(exchange.MillisToComplete(), 400) << "an ignored trigger delayed or throttled";
  }
  EXPECT_EQ(RuleStats("triggers").trigger_ignored(), ignored.size());
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_trigger_ignored_total", R"(rule="triggers")"),
            static_cast<double>(ignored.size()));

  // At the bounds they apply.
  Exchange at_max =
      Fetch("/t", "x-proxynode-fault-delay: 500ms\r\nx-proxynode-fault-abort: 503\r\n");
  EXPECT_EQ(at_max.status(), 503);
  EXPECT_GE(at_max.MillisToComplete(), 500);
  EXPECT_EQ(Fetch("/t", "x-proxynode-fault-abort: 500\r\n").status(), 500);
  // One bad trigger beside a good one: the good one applies, the bad one is counted.
  Exchange mixed = Fetch("/t", "x-proxynode-fault-abort: 502\r\nx-proxynode-fault-delay: 1h\r\n");
  EXPECT_EQ(mixed.status(), 502);
  EXPECT_LT(mixed.MillisToComplete(), 400);
  EXPECT_EQ(RuleStats("triggers").trigger_ignored(), ignored.size() + 1);
}

TEST_F(FaultTriggerTest, DisabledTriggersAreIgnoredEntirely) {
  ASSERT_TRUE(StartFaultNode());
  const std::string all_triggers =
      "x-proxynode-fault-delay: 300ms\r\nx-proxynode-fault-abort: 503\r\n"
      "x-proxynode-fault-throughput: 1KiB\r\n";

  // No rules at all.
  Exchange none = Fetch("/t", all_triggers);
  EXPECT_EQ(none.status(), 200);
  EXPECT_LT(none.MillisToComplete(), 250);

  // A rule that matches, with a fault of its own and triggers off (the default).
  v1::FaultRule off = StatusRule("off", 418);
  off.mutable_match()->set_path_prefix("/t");
  // Triggers enabled on a rule that does not match the request.
  v1::FaultRule elsewhere = TriggerRule("elsewhere");
  elsewhere.mutable_match()->set_path_prefix("/elsewhere");
  ASSERT_TRUE(SetFaults({elsewhere, off}));
  Exchange untriggered = Fetch("/t", all_triggers);
  ASSERT_EQ(untriggered.ending, Ending::kOpen) << untriggered.Describe();
  EXPECT_EQ(untriggered.status(), 418) << "a trigger replaced the rule's own abort";
  EXPECT_LT(untriggered.MillisToComplete(), 250) << "a trigger delayed or throttled";
  Exchange unmatched = Fetch("/other", all_triggers);
  EXPECT_EQ(unmatched.status(), 200);
  EXPECT_LT(unmatched.MillisToComplete(), 250);
  EXPECT_EQ(RuleStats("off").trigger_ignored(), 0u);
  EXPECT_EQ(RuleStats("elsewhere").matched(), 0u);

  // Explicitly disabled, with bounds set: the same.
  v1::FaultRule disabled = TriggerRule("disabled");
  WithFixedDelay(disabled, 1);
  disabled.mutable_header_triggers()->set_enabled(false);
  *disabled.mutable_header_triggers()->mutable_max_delay() = Millis(5000);
  ASSERT_TRUE(SetFaults({disabled}));
  Exchange still = Fetch("/t", all_triggers);
  EXPECT_EQ(still.status(), 200);
  EXPECT_LT(still.MillisToComplete(), 250);
  EXPECT_EQ(RuleStats("disabled").trigger_ignored(), 0u);
}

TEST_F(FaultTriggerTest, OnAProxyRouteATriggeredAbortNeverReachesTheUpstream) {
  UpstreamServer upstream;
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream.address()})}));
  ASSERT_TRUE(SetFaults({TriggerRule()}));
  Exchange aborted = Fetch("/t", "x-proxynode-fault-abort: 500\r\n");
  EXPECT_EQ(aborted.status(), 500);
  EXPECT_EQ(upstream.request_count(), 0u);
  Exchange passed = Fetch("/t");
  EXPECT_EQ(passed.status(), 200);
  EXPECT_EQ(upstream.request_count(), 1u);
}

// max_active_faults = 2 and six requests at once a 600 ms rule hits: two wait, four are
// answered at once, counted as overflowed; once the two are done the slots are free again.
TEST_F(FaultTriggerTest, MaxActiveFaultsCapsDelayedRequestsAndCountsTheOverflow) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults({DelayRule("slow", 600)}, /*max_active_faults=*/2));

  std::vector<Exchange> exchanges = fault::ConcurrentRoundTrips(
      proxy_.http_port(), std::vector<std::string>(6, Get("/")), 5s + kFaultSlack);
  int delayed = 0;
  int immediate = 0;
  for (const Exchange& exchange : exchanges) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    EXPECT_EQ(exchange.status(), 200);
    if (exchange.MillisToComplete() >= 600) {
      ++delayed;
    } else {
      ++immediate;
      EXPECT_LT(exchange.MillisToComplete(), 300) << "an overflowed request was held";
    }
  }
  EXPECT_EQ(delayed, 2);
  EXPECT_EQ(immediate, 4);
  v1::FaultRuleStats stats = RuleStats("slow");
  EXPECT_EQ(stats.fired(), 6u);
  EXPECT_EQ(stats.delayed(), 2u);
  EXPECT_EQ(stats.overflowed(), 4u);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_overflowed_total", R"(rule="slow")"), 4);

  // The slots came back.
  exchanges = fault::ConcurrentRoundTrips(proxy_.http_port(), std::vector<std::string>(2, Get("/")),
                                          5s + kFaultSlack);
  for (const Exchange& exchange : exchanges) {
    EXPECT_GE(exchange.MillisToComplete(), 600) << "a freed slot was not given back";
  }
  EXPECT_EQ(RuleStats("slow").overflowed(), 4u);
}

// The cap is node-wide, over every rule, and a throttled response holds its slot until its
// last byte has left. Aborts take no slot.
TEST_F(FaultTriggerTest, MaxActiveFaultsCountsThrottledResponsesAcrossRules) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule throttle = BandwidthRule("throttle", 2000);  // ~0.5 s for the node's body
  throttle.mutable_match()->set_path_prefix("/bw");
  v1::FaultRule delay = DelayRule("delay", 600);
  delay.mutable_match()->set_path_prefix("/delay");
  v1::FaultRule abort = StatusRule("abort", 503);
  abort.mutable_match()->set_path_prefix("/abort");
  ASSERT_TRUE(SetFaults({throttle, delay, abort}, /*max_active_faults=*/1));

  fault::Probe paced = Connect();
  const auto sent = fault::Clock::now();
  ASSERT_TRUE(paced.Send(Get("/bw")));
  // Wait until the throttled response has begun (so it holds the slot), then a delayed one.
  // (The pacer starts empty: the first bytes leave once 256 of them are due, ~130 ms.)
  fault::Exchange started = paced.Read(sent, 300ms, /*stop_at_response=*/true);
  ASSERT_FALSE(started.bytes.empty()) << started.Describe();
  ASSERT_FALSE(started.complete) << "the throttled response was not throttled";
  EXPECT_EQ(Stats().active_faults(), 1) << "the throttled response holds the slot";
  Exchange overflowed = Fetch("/delay");
  EXPECT_EQ(overflowed.status(), 200);
  EXPECT_LT(overflowed.MillisToComplete(), 300) << "delayed while the slot was taken";
  Exchange aborted = Fetch("/abort");
  EXPECT_EQ(aborted.status(), 503) << "an abort needs no slot";

  // The throttled response ends; its slot is free for the next delay.
  paced.Continue(started, 5s, /*stop_at_response=*/true);
  ASSERT_EQ(started.ending, Ending::kOpen) << started.Describe();
  EXPECT_EQ(started.Body(), FaultNodeBody());
  // The client may read the last byte before the node's worker has seen its write end.
  ASSERT_TRUE(WaitUntil([&] { return Stats().active_faults() == 0; }, 5s));
  Exchange delayed = Fetch("/delay");
  EXPECT_GE(delayed.MillisToComplete(), 600);

  EXPECT_EQ(RuleStats("delay").overflowed(), 1u);
  EXPECT_EQ(RuleStats("delay").delayed(), 1u);
  EXPECT_EQ(RuleStats("throttle").throttled(), 1u);
  EXPECT_EQ(Aborted(RuleStats("abort"), "status"), 1u);
}

// A slot is given back however its request ends: here the client leaves in the middle of
// the delay, or of the throttled response. With max_active_faults = 1, a leaked slot would
// make every later request overflow.
TEST_F(FaultTriggerTest, MaxActiveFaultsSlotsComeBackWhenClientsLeave) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule delay = DelayRule("delay", 800);
  delay.mutable_match()->set_path_prefix("/delay");
  v1::FaultRule throttle = BandwidthRule("throttle", 1000);  // ~1 s for the node's body
  throttle.mutable_match()->set_path_prefix("/bw");
  ASSERT_TRUE(SetFaults({delay, throttle}, /*max_active_faults=*/1));

  for (const std::string target : {"/delay", "/bw"}) {
    SCOPED_TRACE(target);
    {
      fault::Probe leaving = Connect();
      ASSERT_TRUE(leaving.Send(Get(target)));
      std::this_thread::sleep_for(300ms);  // mid-delay, or mid-response
    }                                      // closed
    // The node notices the close and frees the slot: the next delay is a delay.
    ASSERT_TRUE(WaitUntil([&] { return Stats().total().connections_active() == 0; }, 5s));
    Exchange next = Fetch("/delay");
    EXPECT_EQ(next.status(), 200);
    EXPECT_GE(next.MillisToComplete(), 800) << "the slot of the client that left was kept";
  }
  EXPECT_EQ(RuleStats("delay").overflowed(), 0u);
}

// A connection-scope rate paces the rest of the connection, but once its response is out no
// request is being throttled: an idle paced connection holds no max_active_faults slot.
TEST_F(FaultTriggerTest, AnIdleConnectionPacedByAConnectionRuleHoldsNoSlot) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule link = BandwidthRule("link", 4000, v1::BandwidthFault::CONNECTION);
  link.mutable_match()->set_path_prefix("/bw");
  v1::FaultRule delay = DelayRule("delay", 500);
  delay.mutable_match()->set_path_prefix("/delay");
  ASSERT_TRUE(SetFaults({link, delay}, /*max_active_faults=*/1));

  fault::Probe paced = Connect();
  Exchange throttled = paced.RoundTrip(Get("/bw"), 5s);
  ASSERT_EQ(throttled.ending, Ending::kOpen) << throttled.Describe();
  EXPECT_EQ(RuleStats("link").throttled(), 1u);
  // `paced` stays open and idle. Its slot is given back once the worker has written the
  // last byte, just after the client may read it: a leaked slot never comes back.
  ASSERT_TRUE(WaitUntil([&] { return Stats().active_faults() == 0; }, 5s))
      << "the idle paced connection kept the slot";
  Exchange delayed = Fetch("/delay");
  EXPECT_EQ(delayed.status(), 200);
  EXPECT_GE(delayed.MillisToComplete(), 500) << "the idle paced connection kept the slot";
  EXPECT_EQ(RuleStats("delay").overflowed(), 0u);
}

// A request that took a max_active_faults slot and is then refused by max_pending (503)
// gives the slot back: afterwards, with max_pending lifted, two requests at once both get
// their delay (a leaked slot would leave one of them overflowed).
TEST_F(FaultTriggerTest, ARequestRefusedByMaxPendingGivesItsFaultSlotBack) {
  ASSERT_TRUE(StartFaultNode({"--max_pending=1"}));
  ASSERT_TRUE(SetFaults({DelayRule("slow", 500)}, /*max_active_faults=*/2));
  std::vector<Exchange> first = fault::ConcurrentRoundTrips(
      proxy_.http_port(), std::vector<std::string>(4, Get("/")), 5s + kFaultSlack);
  int refused = 0;
  for (const Exchange& exchange : first) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    refused += exchange.status() == 503 ? 1 : 0;
  }
  EXPECT_GE(refused, 1) << "max_pending refused nothing: the test proves nothing";

  v1::NodeConfig unlimited;
  unlimited.set_max_pending(0);
  ASSERT_TRUE(control_->Update(unlimited, {"max_pending"}).ok());
  const uint64_t overflowed = RuleStats("slow").overflowed();
  std::vector<Exchange> second = fault::ConcurrentRoundTrips(
      proxy_.http_port(), std::vector<std::string>(2, Get("/")), 5s + kFaultSlack);
  for (const Exchange& exchange : second) {
    EXPECT_EQ(exchange.status(), 200);
    EXPECT_GE(exchange.MillisToComplete(), 500) << "a slot was leaked by a refused request";
  }
  EXPECT_EQ(RuleStats("slow").overflowed(), overflowed);
}

}  // namespace
}  // namespace proxynode::testing
