#include "dataplane/core/shared_byte_pacer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

constexpr uint64_t kRate = 100'000;  // bytes/s
constexpr MonoTime kStart = 5 * kSecond;

TEST(SharedBytePacerTest, StartsEmptySoNBytesTakeNOverRate) {
  SharedBytePacer pacer(kRate, kStart);
  EXPECT_EQ(pacer.Take(1000, kStart), 0u);
  EXPECT_GT(pacer.ReadyAt(1000), kStart);
  // 10 ms later: 1,000 bytes' worth has come.
  EXPECT_EQ(pacer.Take(5000, kStart + 10 * kMillisecond), 1000u);
  EXPECT_EQ(pacer.Take(5000, kStart + 10 * kMillisecond), 0u);
}

TEST(SharedBytePacerTest, TakersTogetherGetTheRate) {
  SharedBytePacer pacer(kRate, kStart);
  size_t total[2] = {0, 0};
  // Every 100 us, 10 bytes come; each taker asks for 6.
  for (MonoTime t = kStart; t <= kStart + kSecond; t += 100 * kMicrosecond) {
    for (size_t& taken : total) taken += pacer.Take(6, t);
  }
  EXPECT_NEAR(static_cast<double>(total[0] + total[1]), kRate, kRate / 100);
  EXPECT_GT(total[0], 0u);
  EXPECT_GT(total[1], 0u);
}

TEST(SharedBytePacerTest, AnIdlePacerAllowsABurstNotMore) {
  SharedBytePacer pacer(kRate, kStart);
  // After a second of nothing: one burst (1/50 s of the rate), not a second's worth.
  EXPECT_EQ(pacer.Take(1'000'000, kStart + 2 * kSecond), kRate / 50);
}

TEST(SharedBytePacerTest, BytesGivenBackCanBeTakenAgain) {
  SharedBytePacer pacer(kRate, kStart);
  const MonoTime t = kStart + kSecond;
  const size_t taken = pacer.Take(1'000'000, t);
  ASSERT_GT(taken, 0u);
  EXPECT_EQ(pacer.Take(1, t), 0u);
  pacer.GiveBack(taken / 2);
  EXPECT_EQ(pacer.Take(1'000'000, t), taken / 2);
}

// Workers take from one pacer at once: together they never get more than the rate (plus the
// burst a start allows), and the atomic loses no grant. TSan runs this too.
TEST(SharedBytePacerTest, ThreadsTakingAtOnceStayWithinTheRate) {
  SharedBytePacer pacer(kRate, kStart);
  std::atomic<size_t> total{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      size_t mine = 0;
      for (MonoTime t = kStart; t <= kStart + kSecond; t += 10 * kMicrosecond) {
        mine += pacer.Take(512, t);
      }
      total += mine;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(static_cast<double>(total.load()), kRate * 1.01 + kRate / 50.0);
  EXPECT_GE(static_cast<double>(total.load()), kRate * 0.9);
}

}  // namespace
}  // namespace proxynode
