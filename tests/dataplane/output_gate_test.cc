// What a fault rule lets a session's output send: paced bytes at the rate (from empty, in
// 1/50 s bursts), a response-long pace that ends with its bytes, a connection-long one that
// does not, a shared pacer, and holds on a proxied response (all of it, or its body only,
// timed from the head's arrival).

#include "dataplane/server/output_gate.h"

#include "gtest/gtest.h"

namespace proxynode {
namespace {

constexpr uint64_t kRate = 100'000;  // bytes per second: 2,000-byte bursts

TEST(OutputGateTest, UnshapedOutputHasNoLimit) {
  OutputGate gate;
  EXPECT_EQ(gate.Limit(kSecond), SIZE_MAX);
  EXPECT_FALSE(gate.OnWritten(1000, kSecond));
  EXPECT_EQ(gate.WakeAt(10, kSecond), 0);
}

TEST(OutputGateTest, PacedBytesLeaveAtTheRateFromEmpty) {
  OutputGate gate;
  gate.BeginPacing(kRate, nullptr, /*whole_connection=*/false, kSecond);
  EXPECT_EQ(gate.Limit(kSecond), 0u) << "starts empty: N bytes take N / rate";
  EXPECT_EQ(gate.WakeAt(500, kSecond), kSecond + 5 * kMillisecond + 1);
  EXPECT_EQ(gate.Limit(kSecond + 10 * kMillisecond), 1000u);
  EXPECT_FALSE(gate.OnWritten(1000, kSecond + 10 * kMillisecond));
  // A long wait fills one burst only.
  EXPECT_EQ(gate.Limit(kSecond + 10 * kSecond), 2000u);
}

TEST(OutputGateTest, AResponsesPaceEndsWithItsBytesAndAConnectionsDoesNot) {
  OutputGate gate;
  gate.BeginPacing(kRate, nullptr, false, 0);
  gate.PaceRest(1500);
  EXPECT_EQ(gate.Limit(kSecond), 1500u) << "only its own bytes are paced";
  EXPECT_TRUE(gate.OnWritten(1500, kSecond)) << "pacing ended with its last byte";
  EXPECT_FALSE(gate.pacing());

  gate.BeginPacing(kRate, nullptr, /*whole_connection=*/true, 0);
  gate.PaceRest(1500);
  EXPECT_EQ(gate.Limit(kSecond), 2000u) << "a connection's pace is not bounded by one response";
  EXPECT_FALSE(gate.OnWritten(1500, kSecond));
  EXPECT_TRUE(gate.pacing_connection());
  EXPECT_EQ(gate.Limit(kSecond), 500u);
}

TEST(OutputGateTest, ASharedPacerIsSpentByEveryGateUsingIt) {
  BytePacer shared;
  shared.Start(kRate, 0);
  OutputGate first, second;
  first.BeginPacing(kRate, &shared, false, 0);
  second.BeginPacing(kRate, &shared, false, 0);
  EXPECT_EQ(first.Limit(10 * kMillisecond), 1000u);
  first.OnWritten(1000, 10 * kMillisecond);
  EXPECT_EQ(second.Limit(10 * kMillisecond), 0u) << "the first one took the shared bytes";
}

TEST(OutputGateTest, AHoldKeepsTheResponseUntilItsTimeFromTheHead) {
  OutputGate gate;
  gate.HoldFromLend(300);  // 300 bytes of an earlier response are still buffered
  EXPECT_TRUE(gate.awaiting_head());
  EXPECT_EQ(gate.Limit(kSecond), 300u);
  gate.OnWritten(300, kSecond);
  EXPECT_EQ(gate.Limit(kSecond), 0u);
  EXPECT_EQ(gate.WakeAt(100, kSecond), 0) << "only the head's arrival starts the clock";
  gate.StartHold(50 * kMillisecond, /*after_head=*/false, 120, 2 * kSecond);
  EXPECT_EQ(gate.Limit(2 * kSecond), 0u);
  EXPECT_EQ(gate.WakeAt(100, 2 * kSecond), 2 * kSecond + 50 * kMillisecond);
  EXPECT_EQ(gate.Limit(2 * kSecond + 50 * kMillisecond), SIZE_MAX);
}

TEST(OutputGateTest, AFirstByteHoldLetsTheHeadGo) {
  OutputGate gate;
  gate.HoldFromLend(0);
  gate.StartHold(50 * kMillisecond, /*after_head=*/true, 120, kSecond);
  EXPECT_EQ(gate.Limit(kSecond), 120u);
  gate.OnWritten(120, kSecond);
  EXPECT_EQ(gate.Limit(kSecond + kMillisecond), 0u);
  EXPECT_EQ(gate.Limit(kSecond + 50 * kMillisecond), SIZE_MAX);
}

TEST(OutputGateTest, ADroppedHoldHoldsNothing) {
  OutputGate gate;
  gate.HoldFromLend(0);
  gate.DropHold();
  EXPECT_EQ(gate.Limit(kSecond), SIZE_MAX);
}

}  // namespace
}  // namespace proxynode
