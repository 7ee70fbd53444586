#include "dataplane/server/admission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

TEST(AdmissionTest, ConnectionsUpToMaxThenRefused) {
  Admission admission(1000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(admission.TryAcquireConnection(3)) << i;
  }
  EXPECT_FALSE(admission.TryAcquireConnection(3));
  EXPECT_FALSE(admission.TryAcquireConnection(3));
  EXPECT_EQ(admission.connections(), 3);  // refusals count nothing

  admission.ReleaseConnection();
  EXPECT_EQ(admission.connections(), 2);
  EXPECT_TRUE(admission.TryAcquireConnection(3));
  EXPECT_FALSE(admission.TryAcquireConnection(3));
}

TEST(AdmissionTest, ConnectionMaxZeroMeansTheCap) {
  Admission admission(5);
  EXPECT_EQ(admission.connection_cap(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(admission.TryAcquireConnection(0)) << i;
  }
  EXPECT_FALSE(admission.TryAcquireConnection(0));
  EXPECT_EQ(admission.connections(), 5);
}

TEST(AdmissionTest, LoweredMaxRefusesUntilBelowIt) {
  Admission admission(100);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(admission.TryAcquireConnection(10));
  }
  // A new, lower limit applies to new connections only.
  EXPECT_FALSE(admission.TryAcquireConnection(2));
  EXPECT_EQ(admission.connections(), 5);
  for (int i = 0; i < 4; ++i) {
    admission.ReleaseConnection();
  }
  EXPECT_TRUE(admission.TryAcquireConnection(2));
  EXPECT_FALSE(admission.TryAcquireConnection(2));
}

TEST(AdmissionTest, PendingUpToMaxThenRefused) {
  Admission admission(10);
  EXPECT_TRUE(admission.TryAcquirePending(2));
  EXPECT_TRUE(admission.TryAcquirePending(2));
  EXPECT_FALSE(admission.TryAcquirePending(2));
  EXPECT_EQ(admission.pending(), 2);
  admission.ReleasePending();
  EXPECT_TRUE(admission.TryAcquirePending(2));
  EXPECT_EQ(admission.pending(), 2);
}

TEST(AdmissionTest, PendingZeroIsUnlimitedButCounted) {
  Admission admission(10);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(admission.TryAcquirePending(0)) << i;
  }
  EXPECT_EQ(admission.pending(), 10'000);
  for (int i = 0; i < 10'000; ++i) {
    admission.ReleasePending();
  }
  EXPECT_EQ(admission.pending(), 0);
}

TEST(AdmissionTest, RateZeroAlwaysPasses) {
  Admission admission(10);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(admission.TryAcquireRate(0, 5 * kSecond));
  }
}

TEST(AdmissionTest, RateAllowsOneSecondBurstThenOnePerInterval) {
  Admission admission(10);
  const MonoTime t0 = 1000 * kSecond;
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(admission.TryAcquireRate(10, t0)) << i;
  }
  EXPECT_FALSE(admission.TryAcquireRate(10, t0));
  EXPECT_FALSE(admission.TryAcquireRate(10, t0));  // refusals consume nothing
  EXPECT_FALSE(admission.TryAcquireRate(10, t0 + 100 * kMillisecond - 1));

  const MonoTime t1 = t0 + 100 * kMillisecond;
  EXPECT_TRUE(admission.TryAcquireRate(10, t1));
  EXPECT_FALSE(admission.TryAcquireRate(10, t1));

  // 250 ms later: two more intervals have elapsed.
  const MonoTime t2 = t1 + 250 * kMillisecond;
  EXPECT_TRUE(admission.TryAcquireRate(10, t2));
  EXPECT_TRUE(admission.TryAcquireRate(10, t2));
  EXPECT_FALSE(admission.TryAcquireRate(10, t2));
}

TEST(AdmissionTest, RateBurstDoesNotAccumulateBeyondOneSecond) {
  Admission admission(10);
  const MonoTime t0 = 50 * kSecond;
  EXPECT_TRUE(admission.TryAcquireRate(10, t0));
  const MonoTime later = t0 + 3600 * kSecond;  // a long idle period
  int passed = 0;
  for (int i = 0; i < 100; ++i) {
    passed += admission.TryAcquireRate(10, later) ? 1 : 0;
  }
  EXPECT_EQ(passed, 10);
}

TEST(AdmissionTest, RateFromTimeZero) {
  Admission admission(10);
  int passed = 0;
  for (int i = 0; i < 10; ++i) {
    passed += admission.TryAcquireRate(5, 0) ? 1 : 0;
  }
  EXPECT_EQ(passed, 5);
  EXPECT_TRUE(admission.TryAcquireRate(5, 200 * kMillisecond));
  EXPECT_FALSE(admission.TryAcquireRate(5, 200 * kMillisecond));
}

TEST(AdmissionTest, RateNotDividingOneSecond) {
  Admission admission(10);
  const MonoTime t0 = 7 * kSecond;
  int passed = 0;
  for (int i = 0; i < 10; ++i) {
    passed += admission.TryAcquireRate(3, t0) ? 1 : 0;
  }
  EXPECT_EQ(passed, 3);
  // Burst spent: over the next 10 s, polled every 100 ms, about 3 per second pass.
  passed = 0;
  for (MonoTime t = t0; t < t0 + 10 * kSecond; t += 100 * kMillisecond) {
    passed += admission.TryAcquireRate(3, t) ? 1 : 0;
  }
  EXPECT_GE(passed, 29);
  EXPECT_LE(passed, 31);
}

TEST(AdmissionTest, RateAtOneInstantAcrossThreadsPassesExactlyTheBurst) {
  Admission admission(10);
  constexpr uint32_t kRate = 1000;
  const MonoTime now = 10 * kSecond;
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (admission.TryAcquireRate(kRate, now)) {
          passed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(passed.load(), static_cast<int>(kRate));
}

TEST(AdmissionTest, ConcurrentConnectionsNeverExceedMax) {
  constexpr uint32_t kMax = 3;
  Admission admission(1000);
  std::atomic<int> in_use{0};
  std::atomic<int> peak{0};
  std::atomic<int> acquired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (!admission.TryAcquireConnection(kMax)) {
          continue;
        }
        acquired.fetch_add(1, std::memory_order_relaxed);
        const int now_in_use = in_use.fetch_add(1) + 1;
        int seen = peak.load();
        while (now_in_use > seen && !peak.compare_exchange_weak(seen, now_in_use)) {
        }
        in_use.fetch_sub(1);
        admission.ReleaseConnection();
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_LE(peak.load(), static_cast<int>(kMax));
  EXPECT_GT(acquired.load(), 0);
  EXPECT_EQ(admission.connections(), 0);
}

}  // namespace
}  // namespace proxynode
