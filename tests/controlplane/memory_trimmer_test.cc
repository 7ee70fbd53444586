#include "controlplane/memory_trimmer.h"

#include "gtest/gtest.h"

namespace proxynode {
namespace {

class MemoryTrimmerTest : public ::testing::Test {
 protected:
  int calls_ = 0;
  MemoryTrimmer trimmer_{[this] { ++calls_; }};
};

TEST_F(MemoryTrimmerTest, SteadyOrGrowingLoadNeverTrims) {
  for (int64_t connections : {0, 100, 4000, 4000, 3990, 8000, 7000}) {
    trimmer_.Tick(connections, 0);
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(MemoryTrimmerTest, TrimsOnceAfterADropToHalfThePeak) {
  trimmer_.Tick(4000, 0);
  trimmer_.Tick(2500, 0);  // a fall of 1,500, but above half the peak
  EXPECT_EQ(calls_, 0);
  trimmer_.Tick(1500, 0);
  EXPECT_EQ(calls_, 1);
  // The peak restarts from there: staying about as low does not trim again...
  trimmer_.Tick(1000, 0);
  trimmer_.Tick(1000, 0);
  EXPECT_EQ(calls_, 1);
  // ...a further drop of the threshold's size does.
  trimmer_.Tick(0, 0);
  EXPECT_EQ(calls_, 2);
}

TEST_F(MemoryTrimmerTest, SmallFallsDoNotCount) {
  trimmer_.Tick(1000, 0);
  trimmer_.Tick(0, 0);  // all gone, but fewer than kDropConnections
  EXPECT_EQ(calls_, 0);
  trimmer_.Tick(MemoryTrimmer::kDropConnections, 0);
  trimmer_.Tick(0, 0);
  EXPECT_EQ(calls_, 1);
}

TEST_F(MemoryTrimmerTest, AReapedWorkerTrims) {
  trimmer_.Tick(10, 1);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(trimmer_.trims(), 1);
}

}  // namespace
}  // namespace proxynode
