#include "dataplane/core/clock.h"

#include <gtest/gtest.h>

namespace proxynode {
namespace {

constexpr MonoTime kNow = 500 * kSecond;
constexpr int64_t kRealtimeNow = 1'700'000'000 * kSecond;

TEST(ClockTest, RealtimeStampBecomesTheSameInstantOnTheMonotonicClock) {
  // A stamp 3 ms ago on the realtime clock is 3 ms before `now` on the monotonic one.
  EXPECT_EQ(MonotonicFromRealtime(kRealtimeNow - 3 * kMillisecond, kRealtimeNow, kNow, kSecond),
            kNow - 3 * kMillisecond);
}

TEST(ClockTest, AStampInTheFutureCountsAsNow) {
  // The realtime clock stepped back after the stamp: never start a delay in the future.
  EXPECT_EQ(MonotonicFromRealtime(kRealtimeNow + 5 * kSecond, kRealtimeNow, kNow, kSecond), kNow);
}

TEST(ClockTest, AStampTooFarBackIsClampedToTheMaximumAge) {
  // The realtime clock stepped forward: believe at most max_age.
  EXPECT_EQ(MonotonicFromRealtime(kRealtimeNow - 3600 * kSecond, kRealtimeNow, kNow, kSecond),
            kNow - kSecond);
}

}  // namespace
}  // namespace proxynode
