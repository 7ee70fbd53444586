// Bandwidth faults against the real binary (issue 18): a response paced at its rate, a
// connection that keeps the rate for every later response (idle time included) while other
// connections stay fast, a rate every request of a rule shares, a proxied response paced
// too; throttled counted. Sizes and rates are chosen so that a paced response takes about
// half a second: long enough to tell from an unpaced one, short enough for a quick test.

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

// The node's body is ~1 KB; 2,000 bytes per second makes a response take ~0.5 s.
constexpr uint64_t kRate = 2000;

class FaultBandwidthTest : public FaultFixture {
 protected:
  // Milliseconds `bytes` take at `rate`, less the pacer's burst (1/50 s of bytes).
  static double PacedMillis(size_t bytes, uint64_t rate) {
    const double burst = std::max(static_cast<double>(rate) / 50, 256.0);
    return (static_cast<double>(bytes) - burst) * 1000.0 / static_cast<double>(rate);
  }
};

TEST_F(FaultBandwidthTest, AResponseIsPacedAtTheRulesRate) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = BandwidthRule("slow-client", kRate);
  rule.mutable_match()->set_path_prefix("/slow");
  ASSERT_TRUE(SetFaults({rule}));

  Exchange fast = Fetch("/fast");
  ASSERT_EQ(fast.ending, Ending::kOpen) << fast.Describe();
  const size_t size = fast.bytes.size();
  EXPECT_LT(fast.MillisToComplete(), PacedMillis(size, kRate) / 2);

  Exchange slow = Fetch("/slow");
  ASSERT_EQ(slow.ending, Ending::kOpen) << slow.Describe();
  EXPECT_EQ(slow.status(), 200);
  EXPECT_EQ(slow.Body(), FaultNodeBody());
  // At the rate: not faster (allowing the burst), not much slower.
  EXPECT_GE(slow.MillisToComplete(), PacedMillis(slow.bytes.size(), kRate));
  EXPECT_LT(slow.MillisToComplete(),
            static_cast<double>(slow.bytes.size()) * 1000.0 / kRate + kFaultSlack.count());
  // Paced from the start: the first bytes came long before the last.
  EXPECT_LT(slow.MillisTo(slow.first_byte), 200);

  v1::FaultRuleStats stats = RuleStats("slow-client");
  EXPECT_EQ(stats.throttled(), 1u);
  EXPECT_EQ(stats.delayed(), 0u);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_throttled_total", R"(rule="slow-client")"), 1);
}

TEST_F(FaultBandwidthTest, AResponseScopeRateEndsWithTheResponse) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = BandwidthRule("one-response", kRate, v1::BandwidthFault::RESPONSE);
  rule.mutable_match()->set_path_prefix("/slow");
  ASSERT_TRUE(SetFaults({rule}));
  fault::Probe probe = Connect();
  Exchange slow = probe.RoundTrip(Get("/slow"), 5s);
  ASSERT_EQ(slow.ending, Ending::kOpen) << slow.Describe();
  EXPECT_GE(slow.MillisToComplete(), PacedMillis(slow.bytes.size(), kRate));
  Exchange next = probe.RoundTrip(Get("/fast"), 5s);
  ASSERT_EQ(next.ending, Ending::kOpen) << next.Describe();
  EXPECT_LT(next.MillisToComplete(), PacedMillis(next.bytes.size(), kRate) / 2)
      << "the next response on the connection was paced too";
}

// A connection's rate travels with it: idle connections of a retiring worker move to
// another (workers 2 -> 1) and stay paced there.
TEST_F(FaultBandwidthTest, AConnectionsRateMovesWithItToAnotherWorker) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = BandwidthRule("slow-line", kRate, v1::BandwidthFault::CONNECTION);
  rule.mutable_match()->set_path_prefix("/slow");
  ASSERT_TRUE(SetFaults({rule}));
  // Enough connections that the accept share puts some on the worker that retires (a worker
  // takes at most its share plus 2).
  std::vector<fault::Probe> probes;
  for (int i = 0; i < 12; ++i) probes.push_back(Connect());
  std::vector<Exchange> first(probes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < probes.size(); ++i) {
    threads.emplace_back([&, i] { first[i] = probes[i].RoundTrip(Get("/slow"), 5s); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Exchange& exchange : first) ASSERT_EQ(exchange.ending, Ending::kOpen);

  v1::NodeConfig config;
  config.set_workers(1);
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(control_->Update(config, {"workers"}, &response).ok());
  // The retired worker hands its idle connections over.
  EXPECT_TRUE(WaitUntil([&] { return Stats().total().connections_handed_in() > 0; }, 5s, 20ms))
      << "no connection moved";

  threads.clear();
  std::vector<Exchange> after(probes.size());
  for (size_t i = 0; i < probes.size(); ++i) {
    threads.emplace_back([&, i] { after[i] = probes[i].RoundTrip(Get("/fast"), 5s); });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_EQ(after[i].ending, Ending::kOpen) << after[i].Describe();
    EXPECT_GE(after[i].MillisToComplete(), PacedMillis(after[i].bytes.size(), kRate))
        << "connection " << i << " lost its rate";
  }
}

// Pipelined behind a paced response, the next one leaves at full speed as soon as the paced
// one is out.
TEST_F(FaultBandwidthTest, APipelinedResponseBehindAPacedOneIsNotPaced) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = BandwidthRule("one-response", kRate, v1::BandwidthFault::RESPONSE);
  rule.mutable_match()->set_path_prefix("/slow");
  ASSERT_TRUE(SetFaults({rule}));
  fault::Probe probe = Connect();
  const auto sent = fault::Clock::now();
  ASSERT_TRUE(probe.Send(Get("/slow") + Get("/fast") + Get("/fast")));
  Exchange slow = probe.Read(sent, 5s, /*stop_at_response=*/true);
  ASSERT_EQ(slow.ending, Ending::kOpen) << slow.Describe();
  EXPECT_GE(slow.MillisToComplete(), PacedMillis(slow.bytes.size(), kRate));
  for (int i = 0; i < 2; ++i) {
    Exchange fast = probe.Read(sent, 5s, /*stop_at_response=*/true);
    ASSERT_EQ(fast.ending, Ending::kOpen) << fast.Describe();
    EXPECT_EQ(fast.status(), 200);
    EXPECT_LT(fast.MillisToComplete() - slow.MillisToComplete(),
              PacedMillis(fast.bytes.size(), kRate) / 2)
        << "response " << i + 2 << " was paced too";
  }
}

TEST_F(FaultBandwidthTest, AConnectionScopeRatePacesTheRestOfThatConnectionOnly) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = BandwidthRule("slow-link", kRate, v1::BandwidthFault::CONNECTION);
  rule.mutable_match()->set_path_prefix("/slow");
  ASSERT_TRUE(SetFaults({rule}));

  fault::Probe paced = Connect();
  Exchange first = paced.RoundTrip(Get("/slow"), 5s);
  ASSERT_EQ(first.ending, Ending::kOpen) << first.Describe();
  EXPECT_GE(first.MillisToComplete(), PacedMillis(first.bytes.size(), kRate));

  // Another connection is not paced.
  fault::Probe other = Connect();
  Exchange fast = other.RoundTrip(Get("/fast"), 5s);
  ASSERT_EQ(fast.ending, Ending::kOpen) << fast.Describe();
  EXPECT_LT(fast.MillisToComplete(), PacedMillis(fast.bytes.size(), kRate) / 2);

  // The paced connection's next response matches no rule, after it sat idle: still paced.
  std::this_thread::sleep_for(300ms);
  Exchange second = paced.RoundTrip(Get("/fast"), 5s);
  ASSERT_EQ(second.ending, Ending::kOpen) << second.Describe();
  EXPECT_EQ(second.status(), 200);
  EXPECT_GE(second.MillisToComplete(), PacedMillis(second.bytes.size(), kRate))
      << "the connection lost its rate";
  EXPECT_EQ(RuleStats("slow-link").throttled(), 1u);
}

TEST_F(FaultBandwidthTest, ARuleScopeRateIsSharedByEveryRequestItHits) {
  // One worker: the rule's whole rate is that worker's share.
  ASSERT_TRUE(StartFaultNode({"--workers=1"}));
  ASSERT_TRUE(SetFaults({BandwidthRule("shared", 2 * kRate, v1::BandwidthFault::RULE)}));
  // Alone, a response gets the whole rate: about half as long as two at once.
  Exchange alone = Fetch("/");
  ASSERT_EQ(alone.ending, Ending::kOpen) << alone.Describe();
  const size_t size = alone.bytes.size();
  EXPECT_GE(alone.MillisToComplete(), PacedMillis(size, 2 * kRate));

  std::vector<Exchange> together =
      fault::ConcurrentRoundTrips(proxy_.http_port(), {Get("/"), Get("/")}, 5s + kFaultSlack);
  double slowest = 0;
  for (const Exchange& exchange : together) {
    ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
    slowest = std::max(slowest, exchange.MillisToComplete());
  }
  // Two responses' bytes through one rate.
  EXPECT_GE(slowest, PacedMillis(2 * size, 2 * kRate)) << "each got the whole rate";
  EXPECT_LT(slowest, 2.0 * static_cast<double>(size) * 1000.0 / (2 * kRate) + kFaultSlack.count());
  EXPECT_EQ(RuleStats("shared").throttled(), 3u);
}

TEST_F(FaultBandwidthTest, AProxiedResponseIsPacedToo) {
  UpstreamServer upstream(UpstreamReply{.text = std::string(1000, 'u')});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream.address()})}));
  ASSERT_TRUE(SetFaults({BandwidthRule("slow-proxy", kRate)}));
  Exchange slow = Fetch("/");
  ASSERT_EQ(slow.ending, Ending::kOpen) << slow.Describe();
  EXPECT_EQ(slow.Body(), std::string(1000, 'u'));
  EXPECT_GE(slow.MillisToComplete(), PacedMillis(slow.bytes.size(), kRate));
  EXPECT_LT(slow.MillisToComplete(),
            static_cast<double>(slow.bytes.size()) * 1000.0 / kRate + kFaultSlack.count());
  EXPECT_EQ(upstream.request_count(), 1u);
}

}  // namespace
}  // namespace proxynode::testing
