// LineRing: whole lines in, whole lines out, across the wrap, between two threads.

#include "dataplane/core/line_ring.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

std::string TakeAll(LineRing& ring, size_t max_bytes) {
  const LineRing::Piece piece = ring.Take(max_bytes);
  std::string out(piece.first);
  out += piece.second;
  ring.Commit(piece.size());
  return out;
}

TEST(LineRingTest, LinesComeOutWholeAndInOrder) {
  LineRing ring(64);
  EXPECT_TRUE(ring.TryPut("one\n"));
  EXPECT_TRUE(ring.TryPut("two\n"));
  EXPECT_EQ(TakeAll(ring, 5), "one\n");  // a take stops at a line's end
  EXPECT_EQ(TakeAll(ring, 100), "two\n");
  EXPECT_EQ(ring.Take(100).size(), 0u);
}

TEST(LineRingTest, AFullRingRefusesAWholeLineAndAcrossTheWrapItStaysWhole) {
  LineRing ring(64);
  const std::string line(30, 'a');
  EXPECT_TRUE(ring.TryPut(line + "\n"));
  EXPECT_TRUE(ring.TryPut(line + "\n"));
  EXPECT_FALSE(ring.TryPut("xy\n"));  // 62 of 64 bytes taken: no room for 3 more
  EXPECT_EQ(TakeAll(ring, 100), line + "\n" + line + "\n");
  // The next lines wrap around the end of the buffer.
  const std::string other(40, 'b');
  EXPECT_TRUE(ring.TryPut(other + "\n"));
  EXPECT_EQ(TakeAll(ring, 100), other + "\n");
}

TEST(LineRingTest, ALineLongerThanATakeIsTakenWhole) {
  LineRing ring(256);
  const std::string line(100, 'c');
  ASSERT_TRUE(ring.TryPut(line + "\n"));
  EXPECT_EQ(TakeAll(ring, 10), line + "\n");
}

TEST(LineRingTest, AProducerAndAConsumerThreadLoseNothing) {
  LineRing ring(128);
  constexpr int kLines = 20000;
  std::thread producer([&ring] {
    for (int i = 0; i < kLines; ++i) {
      const std::string line = std::to_string(i) + "\n";
      while (!ring.TryPut(line)) std::this_thread::yield();
    }
  });
  std::string received;
  int next = 0;
  while (next < kLines) {
    received += TakeAll(ring, 64);
    size_t end;
    while ((end = received.find('\n')) != std::string::npos) {
      ASSERT_EQ(received.substr(0, end), std::to_string(next));
      received.erase(0, end + 1);
      ++next;
    }
  }
  producer.join();
}

}  // namespace
}  // namespace proxynode
