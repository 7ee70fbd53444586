#include "dataplane/server/accept_share.h"

#include <gtest/gtest.h>

namespace proxynode {
namespace {

TEST(AcceptShareTest, OneWorkerNeverPauses) {
  EXPECT_FALSE(AcceptShare::ShouldPause(19000, 19000, 1));
  EXPECT_TRUE(AcceptShare::ShouldResume(19000, 19000, 1));
}

TEST(AcceptShareTest, PausesOnlyBeyondTheMarginOverTheFairShare) {
  // 2 workers, 19,000 connections: share 9,500, margin 296.
  EXPECT_FALSE(AcceptShare::ShouldPause(9500, 19000, 2));
  EXPECT_FALSE(AcceptShare::ShouldPause(9796, 19000, 2));
  EXPECT_TRUE(AcceptShare::ShouldPause(9797, 19000, 2));
}

TEST(AcceptShareTest, SmallCountsUseAMarginOfTwo) {
  EXPECT_FALSE(AcceptShare::ShouldPause(7, 10, 2));
  EXPECT_TRUE(AcceptShare::ShouldPause(8, 10, 2));
}

TEST(AcceptShareTest, ResumesAtHalfTheMarginSoOneAcceptDoesNotFlap) {
  // Share 9,500, margin 296: paused above 9,796, resumes at 9,648 or below.
  EXPECT_FALSE(AcceptShare::ShouldResume(9700, 19000, 2));
  EXPECT_TRUE(AcceptShare::ShouldResume(9648, 19000, 2));
}

TEST(AcceptShareTest, TheWorkerWithTheFewestConnectionsNeverPauses) {
  // Whatever the split, the smallest count is at most the share: someone always accepts.
  for (int64_t total = 0; total < 2000; total += 7) {
    for (uint32_t workers = 2; workers <= 8; ++workers) {
      const int64_t fewest = total / workers;
      EXPECT_FALSE(AcceptShare::ShouldPause(fewest, total, workers)) << total << "/" << workers;
    }
  }
}

}  // namespace
}  // namespace proxynode
