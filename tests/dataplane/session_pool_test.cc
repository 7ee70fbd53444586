// The pool of request state (Http1Session) a worker lends its connections: bursts are
// served without allocating, and what stays unused is freed in halves, once per interval.
// Timers are run by hand (TimerQueue::RunExpired) with times past each trim.

#include "dataplane/server/session_pool.h"

#include <memory>
#include <vector>

#include "dataplane/core/event_loop.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

constexpr size_t kMinKept = 4;

class SessionPoolTest : public ::testing::Test {
 protected:
  // Takes `count` sessions from the pool into `held_`.
  void Take(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      held_.push_back(pool_.Acquire(nullptr, nullptr));
    }
  }
  // Gives `count` of the held sessions back.
  void GiveBack(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      pool_.Release(std::move(held_.back()));
      held_.pop_back();
    }
  }
  // Runs the timers due `intervals` trim intervals from the loop's start.
  void RunTrims(int intervals) {
    loop_.timers().RunExpired(loop_.now() + intervals * SessionPool::kTrimInterval + kSecond / 2);
  }

  EventLoop loop_;
  SessionPool pool_{loop_, kMinKept};
  std::vector<std::unique_ptr<Session>> held_;
};

TEST_F(SessionPoolTest, ReleasedSessionsAreReusedWithoutAllocating) {
  Take(10);
  GiveBack(10);
  Take(10);
  EXPECT_EQ(pool_.created(), 10u);
  EXPECT_EQ(pool_.in_use(), 10u);
  EXPECT_EQ(pool_.free_count(), 0u);
}

TEST_F(SessionPoolTest, ABurstFarAboveTheMinimumIsKeptWithinAnInterval) {
  Take(1000);
  GiveBack(1000);
  EXPECT_EQ(pool_.free_count(), 1000u);
  Take(1000);
  EXPECT_EQ(pool_.created(), 1000u);
}

// The clock starts when the free list first exceeds the minimum: an session counts as unused
// once it stayed free for a whole interval, so the first trim after a burst frees only what
// was free before it (the burst gets a full interval of grace), and each later one half of
// what nobody took.
TEST_F(SessionPoolTest, UnusedSessionsAreFreedInHalvesDownToTheMinimum) {
  Take(100);
  GiveBack(100);  // the clock started at the 5th release (one above the minimum)
  RunTrims(1);
  EXPECT_EQ(pool_.free_count(), 97u);  // half of those 5, rounded up
  RunTrims(2);
  EXPECT_EQ(pool_.free_count(), 50u);  // half of the 93 above the minimum
  RunTrims(3);
  EXPECT_EQ(pool_.free_count(), 27u);
  for (int interval = 4; interval <= 12; ++interval) {
    RunTrims(interval);
  }
  EXPECT_EQ(pool_.free_count(), kMinKept);
  RunTrims(20);  // and never below it
  EXPECT_EQ(pool_.free_count(), kMinKept);
  EXPECT_EQ(pool_.created(), 100u);
}

TEST_F(SessionPoolTest, SessionsTakenDuringTheIntervalAreKept) {
  Take(100);
  GiveBack(100);
  RunTrims(1);  // 97 free, the mark set
  Take(60);     // 37 left free at the lowest: only those went unused
  GiveBack(60);
  RunTrims(2);
  EXPECT_EQ(pool_.free_count(), 97u - 19u);  // half of 37, rounded up
  Take(78);
  EXPECT_EQ(pool_.created(), 100u);
  Take(1);
  EXPECT_EQ(pool_.created(), 101u);
}

}  // namespace
}  // namespace proxynode
