// The fault engine's decision for one request: the first rule that matches and whose draw
// hits applies and no other, each rule's chance is drawn once, the implicit route rule
// applies only when none fired, seeds repeat runs, header triggers (and their refusal when
// off or out of bounds), max_active_faults, expiry, and how a fired rule shapes the response.

#include "dataplane/server/worker_faults.h"

#include <cmath>

#include "dataplane/server/admission.h"
#include "dataplane/server/response_decision.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

FaultRule Rule(const std::string& name, double percent, Nanos fixed_delay) {
  FaultRule rule;
  rule.name = name;
  rule.percent = percent;
  DelayFault delay;
  delay.distribution.fixed = fixed_delay;
  rule.delay = delay;
  return rule;
}

class WorkerFaultsTest : public ::testing::Test {
 protected:
  WorkerFaultsTest() { config_.delay = 0; }

  FaultPlan Decide(Admission* admission = nullptr) {
    auto client = [] { return SocketAddress{}; };
    const FaultRequest request{
        .head = head_, .head_block = block_, .route = nullptr, .fetch_client = client};
    return faults_.Decide(request, config_, admission);
  }

  // The decision the session makes (handler, then faults, then limits), with `faults` (the
  // fixture's by default) and `admission` (none by default).
  ResponseDecision DecideWhole(WorkerFaults* faults = nullptr, Admission* admission = nullptr) {
    RespondHandler handler;
    const RequestFacts facts{.head = head_,
                             .head_block = block_,
                             .config = config_,
                             .now = kSecond,
                             .requests_on_connection = 1,
                             .nothing_owed = true,
                             .host = nullptr};
    return DecideResponse(facts, handler, admission, faults != nullptr ? faults : &faults_);
  }

  // Rules are per snapshot version: bump it as the pipeline does on each change.
  void Changed() { ++config_.version; }

  NodeConfig config_;
  RequestHead head_ = [] {
    RequestHead head;
    head.target = "/";
    return head;
  }();
  std::string block_ = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ProxyStatsRegistry registry_;
  WorkerFaults faults_{0, &registry_};
};

TEST_F(WorkerFaultsTest, TheFirstRuleThatHitsAppliesAndNoOther) {
  config_.faults = {Rule("first", 100, 10 * kMillisecond), Rule("second", 100, 20 * kMillisecond)};
  Changed();
  FaultPlan plan = Decide();
  ASSERT_NE(plan.rule, nullptr);
  EXPECT_EQ(plan.rule->name, "first");
  EXPECT_EQ(plan.delay, 10 * kMillisecond);
  const ProxyStatsSnapshot stats = registry_.Collect();
  ASSERT_EQ(stats.faults.size(), 2u);  // sorted by name: first, second
  EXPECT_EQ(stats.faults[1].matched, 0u) << "the second rule is not even tried";
  EXPECT_EQ(stats.faults[0].fired, 1u);
  EXPECT_EQ(stats.faults[0].delayed, 1u);
  EXPECT_EQ(stats.faults[0].injected_delay.count(), 1u);
}

TEST_F(WorkerFaultsTest, EachRuleIsDrawnOnceAndAMissFallsToTheNext) {
  config_.faults = {Rule("half", 50, kMillisecond), Rule("rest", 100, 2 * kMillisecond)};
  config_.fault_seed = 7;
  Changed();
  constexpr int kRequests = 20000;
  int half = 0;
  for (int i = 0; i < kRequests; ++i) {
    half += Decide().rule->name == "half" ? 1 : 0;
  }
  // Binomial(20000, 0.5): 3 standard deviations are about 212. Drawing twice per request (as
  // Envoy once did) would give 1 - 0.25 = 75%, far outside.
  EXPECT_NEAR(half, kRequests / 2, 3 * std::sqrt(kRequests * 0.25));
}

TEST_F(WorkerFaultsTest, ZeroPercentNeverFiresAndHundredAlwaysDoes) {
  config_.faults = {Rule("never", 0, kMillisecond)};
  Changed();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Decide().rule, nullptr);
  config_.faults[0].percent = 100;
  Changed();
  for (int i = 0; i < 1000; ++i) ASSERT_NE(Decide().rule, nullptr);
}

TEST_F(WorkerFaultsTest, TheRouteDelayIsTheImplicitRuleTriedLast) {
  config_.delay = 50 * kMillisecond;
  RouteConfig route;
  route.prefix = "/";
  route.delay_percent = 30;
  config_.routes = {route};
  config_.fault_seed = 3;
  Changed();
  int delayed = 0;
  constexpr int kRequests = 10000;
  for (int i = 0; i < kRequests; ++i) {
    delayed += DecideWhole().plan.delay == 50 * kMillisecond ? 1 : 0;
  }
  EXPECT_NEAR(delayed, kRequests * 0.3, 3 * std::sqrt(kRequests * 0.3 * 0.7));
  // A configured rule that fires replaces it: its delay only.
  config_.faults = {Rule("mine", 100, 7 * kMillisecond)};
  Changed();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(DecideWhole().plan.delay, 7 * kMillisecond);
}

TEST_F(WorkerFaultsTest, ASeedRepeatsTheDrawsAndEachWorkerDrawsItsOwn) {
  FaultRule rule = Rule("r", 50, 0);
  rule.delay->distribution.shape = DelayShape::kUniform;
  rule.delay->distribution.low = 0;
  rule.delay->distribution.high = kSecond;
  config_.faults = {rule};
  config_.fault_seed = 42;
  Changed();
  auto run = [this](WorkerFaults& faults) {
    std::vector<Nanos> delays;
    auto client = [] { return SocketAddress{}; };
    const FaultRequest request{
        .head = head_, .head_block = block_, .route = nullptr, .fetch_client = client};
    for (int i = 0; i < 100; ++i) delays.push_back(faults.Decide(request, config_, nullptr).delay);
    return delays;
  };
  WorkerFaults first(0, nullptr), again(0, nullptr), other_worker(1, nullptr);
  EXPECT_EQ(run(first), run(again));
  EXPECT_NE(run(first), run(other_worker));
}

TEST_F(WorkerFaultsTest, HeaderTriggersWithinBoundsOnlyAndOnlyWhenEnabled) {
  FaultRule rule;
  rule.name = "triggers";
  config_.faults = {rule};
  config_.faults[0].abort.kind = AbortKind::kNone;
  config_.faults[0].header_triggers.enabled = false;
  config_.faults[0].delay = std::nullopt;
  config_.faults[0].bandwidth.bytes_per_second = 1;  // something, so that the rule is valid
  block_ =
      "GET / HTTP/1.1\r\nx-proxynode-fault-delay: 250ms\r\nx-proxynode-fault-abort: 503\r\n\r\n";
  Changed();
  FaultPlan plan = Decide();
  EXPECT_EQ(plan.delay, 0) << "triggers are off: the header is ignored";
  EXPECT_EQ(plan.abort, AbortKind::kNone);

  config_.faults[0].header_triggers.enabled = true;
  config_.faults[0].header_triggers.max_delay = kSecond;
  Changed();
  plan = Decide();
  EXPECT_EQ(plan.delay, 250 * kMillisecond);
  EXPECT_EQ(plan.abort, AbortKind::kStatus);
  EXPECT_EQ(plan.status, 503);

  block_ = "GET / HTTP/1.1\r\nx-proxynode-fault-delay: 5s\r\nx-proxynode-fault-abort: 200\r\n\r\n";
  plan = Decide();
  EXPECT_EQ(plan.delay, 0) << "over max_delay";
  EXPECT_EQ(plan.abort, AbortKind::kNone) << "under min_abort_status";
  EXPECT_EQ(registry_.Collect().faults[0].trigger_ignored, 2u);
}

TEST_F(WorkerFaultsTest, MaxActiveFaultsServesTheOverflowWithoutItsDelay) {
  config_.faults = {Rule("slow", 100, kSecond)};
  config_.max_active_faults = 2;
  Changed();
  Admission admission(100);
  EXPECT_TRUE(Decide(&admission).holds_slot);
  EXPECT_TRUE(Decide(&admission).holds_slot);
  FaultPlan overflow = Decide(&admission);
  EXPECT_FALSE(overflow.holds_slot);
  EXPECT_EQ(overflow.delay, 0);
  EXPECT_EQ(admission.active_faults(), 2);
  EXPECT_EQ(registry_.Collect().faults[0].overflowed, 1u);
  admission.ReleaseFault();
  EXPECT_EQ(Decide(&admission).delay, kSecond);
}

TEST_F(WorkerFaultsTest, ARequestRefusedByMaxPendingGivesItsFaultSlotBack) {
  config_.faults = {Rule("slow", 100, kSecond)};
  config_.max_active_faults = 1;
  config_.max_pending = 1;
  Changed();
  Admission admission(100);
  ASSERT_TRUE(admission.TryAcquirePending(1));  // the one pending slot is taken
  ResponseDecision refused = DecideWhole(nullptr, &admission);
  EXPECT_EQ(refused.refusal, Refusal::kMaxPending);
  EXPECT_EQ(admission.active_faults(), 0) << "the refused request's fault slot leaked";
}

TEST_F(WorkerFaultsTest, AContentTypeAbortHeaderReplacesTheNodesAndBodilessStatusesHaveNone) {
  FaultRule rule;
  rule.name = "json";
  rule.abort.kind = AbortKind::kStatus;
  rule.abort.status = 500;
  rule.abort.body = "{}";
  rule.abort.headers = {{"Content-Type", "application/json"}};
  config_.faults = {rule};
  Changed();
  EXPECT_EQ(DecideWhole().plan.content_type, "");
  config_.faults[0].abort.status = 204;
  config_.faults[0].abort.body = "";
  Changed();
  EXPECT_EQ(DecideWhole().plan.body, "");
}

TEST_F(WorkerFaultsTest, TheSeedAppliesToTheImplicitRuleWithoutAnyRule) {
  config_.delay = 50 * kMillisecond;
  RouteConfig route;
  route.prefix = "/";
  route.delay_percent = 50;
  config_.routes = {route};
  config_.fault_seed = 11;
  Changed();
  auto run = [this] {
    WorkerFaults faults(0, nullptr);
    std::vector<Nanos> delays;
    for (int i = 0; i < 64; ++i) delays.push_back(DecideWhole(&faults).plan.delay);
    return delays;
  };
  EXPECT_EQ(run(), run());
}

TEST_F(WorkerFaultsTest, AnExpiredRuleNoLongerFires) {
  config_.faults = {Rule("gone", 100, kSecond), Rule("stays", 100, kMillisecond)};
  config_.faults[0].expires_at_unix_nanos = RealtimeNanos() - kMillisecond;
  Changed();
  EXPECT_EQ(Decide().rule->name, "stays");
  config_.faults[0].expires_at_unix_nanos = RealtimeNanos() + 3600 * kSecond;
  Changed();
  EXPECT_EQ(Decide().rule->name, "gone");
}

TEST_F(WorkerFaultsTest, AStatusAbortAnswersInsteadOfTheUpstream) {
  RouteConfig route;
  route.prefix = "/";
  route.action = RouteAction::kProxy;
  route.upstreams = {Upstream{.address = "127.0.0.1:1", .resolved = {}}};
  config_.routes = {route};
  FaultRule rule;
  rule.name = "teapot";
  rule.abort.kind = AbortKind::kStatus;
  rule.abort.status = 418;
  rule.abort.headers = {{"x-why", "fault"}};
  rule.tag_response = true;
  config_.faults = {rule};
  Changed();
  ResponseDecision decision = DecideWhole();
  EXPECT_EQ(decision.plan.proxy_route, nullptr);
  EXPECT_EQ(decision.plan.status, 418);
  EXPECT_EQ(decision.plan.body, "I'm a teapot");
  ASSERT_NE(decision.plan.extra_fields, nullptr);
  EXPECT_EQ(decision.plan.extra_fields->at(0).first, "x-why");
  EXPECT_EQ(decision.plan.fault_tag, "teapot");
  EXPECT_FALSE(decision.close) << "a status abort keeps the connection";
}

TEST_F(WorkerFaultsTest, ConnectionAbortsCloseAndFirstByteDelaysHoldTheBody) {
  FaultRule rule = Rule("reset", 100, 0);
  rule.delay = std::nullopt;
  rule.abort.kind = AbortKind::kReset;
  config_.faults = {rule};
  Changed();
  ResponseDecision decision = DecideWhole();
  EXPECT_TRUE(decision.close);
  EXPECT_EQ(decision.plan.fault.abort, AbortKind::kReset);

  FaultRule first_byte = Rule("first-byte", 100, 30 * kMillisecond);
  first_byte.delay->target = DelayTarget::kFirstByte;
  config_.faults = {first_byte};
  Changed();
  decision = DecideWhole();
  EXPECT_EQ(decision.plan.delay, 0);
  EXPECT_EQ(decision.plan.first_byte_delay, 30 * kMillisecond);
}

}  // namespace
}  // namespace proxynode
