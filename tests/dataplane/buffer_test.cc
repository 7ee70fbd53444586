#include "dataplane/core/buffer.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"

namespace proxynode {
namespace {

constexpr size_t kBlock = BufferPool::kBlockSize;

// Distinct, position-dependent bytes so that a misplaced copy shows.
std::string Pattern(size_t n, size_t seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  }
  return s;
}

TEST(BufferTest, NewBufferIsEmptyWithoutStorage) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_FALSE(b.has_storage());
  EXPECT_TRUE(b.readable().empty());
}

TEST(BufferTest, AppendConsumeReadable) {
  BufferPool pool;
  Buffer b;
  b.Append(pool, "hello ");
  b.Append(pool, "world");
  EXPECT_TRUE(b.has_storage());
  EXPECT_EQ(b.size(), 11u);
  EXPECT_EQ(b.readable(), "hello world");
  EXPECT_EQ(pool.blocks_in_use(), 1u);

  b.Consume(6);
  EXPECT_EQ(b.readable(), "world");
  b.Append(pool, "!");
  EXPECT_EQ(b.readable(), "world!");
  b.Consume(6);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.readable(), "");
  EXPECT_TRUE(b.has_storage());  // kept until ReleaseIfEmpty
}

TEST(BufferTest, ConsumeMoreThanSizeEmptiesTheBuffer) {
  BufferPool pool;
  Buffer b;
  b.Append(pool, "abc");
  b.Consume(100);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  b.Append(pool, "xyz");
  EXPECT_EQ(b.readable(), "xyz");
}

TEST(BufferTest, ConsumingEverythingRewindsToTheStart) {
  BufferPool pool;
  Buffer b;
  b.Append(pool, "abc");
  const char* start = b.readable().data();
  b.Consume(3);
  b.Append(pool, "def");
  EXPECT_EQ(b.readable().data(), start);
}

TEST(BufferTest, PrepareWriteAndCommit) {
  BufferPool pool;
  Buffer b;
  size_t available = 0;
  char* out = b.PrepareWrite(pool, 10, &available);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(available, kBlock);
  std::memcpy(out, "hello", 5);
  b.Commit(5);
  EXPECT_EQ(b.readable(), "hello");

  char* more = b.PrepareWrite(pool, 1, &available);
  EXPECT_EQ(more, out + 5);
  EXPECT_EQ(available, kBlock - 5);
  std::memcpy(more, "!", 1);
  b.Commit(1);
  EXPECT_EQ(b.readable(), "hello!");
  EXPECT_EQ(pool.blocks_in_use(), 1u);
}

TEST(BufferTest, PrepareWriteMayOfferMoreThanAsked) {
  BufferPool pool;
  Buffer b;
  size_t available = 0;
  b.PrepareWrite(pool, 0, &available);
  EXPECT_EQ(available, kBlock);
  b.Commit(0);
  EXPECT_TRUE(b.empty());
}

TEST(BufferTest, CompactsInsteadOfGrowingWhenFrontSpaceSuffices) {
  BufferPool pool;
  Buffer b;
  const std::string data = Pattern(10'000);
  b.Append(pool, data);
  const char* start = b.readable().data();
  b.Consume(9'000);  // 1'000 bytes kept at offset 9'000; 6'384 free at the end

  size_t available = 0;
  char* out = b.PrepareWrite(pool, 8'000, &available);
  EXPECT_EQ(b.readable().data(), start);  // moved to the front of the same block
  EXPECT_EQ(out, start + 1'000);
  EXPECT_EQ(available, kBlock - 1'000);
  EXPECT_EQ(b.readable(), std::string_view(data).substr(9'000));
  EXPECT_EQ(pool.blocks_in_use(), 1u);

  const std::string tail = Pattern(8'000, 3);
  std::memcpy(out, tail.data(), tail.size());
  b.Commit(tail.size());
  EXPECT_EQ(b.readable(), data.substr(9'000) + tail);
}

TEST(BufferTest, GrowsBeyondTheBlockPreservingData) {
  BufferPool pool;
  Buffer b;
  const std::string first = Pattern(10'000, 1);
  const std::string second = Pattern(10'000, 2);
  b.Append(pool, first);
  b.Consume(100);
  b.Append(pool, second);  // 19'900 kept: does not fit a block
  EXPECT_EQ(b.size(), 19'900u);
  EXPECT_EQ(b.readable(), first.substr(100) + second);
  // The pooled block went back to the pool; the bigger one is not pooled.
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u);

  // Keeps growing.
  const std::string big = Pattern(100'000, 5);
  b.Append(pool, big);
  EXPECT_EQ(b.readable(), first.substr(100) + second + big);

  b.Consume(b.size());
  b.ReleaseIfEmpty(pool);
  EXPECT_FALSE(b.has_storage());
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u);  // the oversized storage is freed, not pooled
}

TEST(BufferTest, LargeFirstAppendBypassesThePool) {
  BufferPool pool;
  Buffer b;
  const std::string big = Pattern(3 * kBlock + 17);
  b.Append(pool, big);
  EXPECT_EQ(b.readable(), big);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  b.Consume(big.size());
  b.ReleaseIfEmpty(pool);
  EXPECT_FALSE(b.has_storage());
  EXPECT_EQ(pool.free_blocks(), 0u);
}

TEST(BufferTest, ExactlyOneBlockComesFromThePool) {
  BufferPool pool;
  Buffer b;
  const std::string full = Pattern(kBlock);
  b.Append(pool, full);
  EXPECT_EQ(pool.blocks_in_use(), 1u);
  EXPECT_EQ(b.readable(), full);
  b.Append(pool, "x");  // grows
  EXPECT_EQ(b.readable(), full + "x");
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(BufferTest, ReleaseIfEmptyReturnsTheBlock) {
  BufferPool pool;
  Buffer b;
  b.Append(pool, "data");
  EXPECT_EQ(pool.blocks_in_use(), 1u);
  EXPECT_EQ(pool.free_blocks(), 0u);

  b.ReleaseIfEmpty(pool);  // not empty: keeps everything
  EXPECT_TRUE(b.has_storage());
  EXPECT_EQ(b.readable(), "data");
  EXPECT_EQ(pool.blocks_in_use(), 1u);

  b.Consume(4);
  b.ReleaseIfEmpty(pool);
  EXPECT_FALSE(b.has_storage());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.free_blocks(), 1u);

  b.ReleaseIfEmpty(pool);  // no storage: no-op
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.blocks_in_use(), 0u);

  b.Append(pool, "again");  // usable after release
  EXPECT_EQ(b.readable(), "again");
  EXPECT_EQ(pool.blocks_in_use(), 1u);
  EXPECT_EQ(pool.free_blocks(), 0u);
}

TEST(BufferTest, PoolReusesReleasedBlocks) {
  BufferPool pool;
  Buffer a;
  a.Append(pool, "a");
  const char* block = a.readable().data();
  a.Consume(1);
  a.ReleaseIfEmpty(pool);

  Buffer b;
  b.Append(pool, "b");
  EXPECT_EQ(b.readable().data(), block);
  EXPECT_EQ(pool.free_blocks(), 0u);
  EXPECT_EQ(pool.blocks_in_use(), 1u);
}

TEST(BufferTest, PoolAcquireRelease) {
  BufferPool pool;
  auto x = pool.Acquire();
  auto y = pool.Acquire();
  EXPECT_EQ(pool.blocks_in_use(), 2u);
  char* y_raw = y.get();
  pool.Release(std::move(x));
  pool.Release(std::move(y));
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.free_blocks(), 2u);
  auto z = pool.Acquire();  // last released first
  EXPECT_EQ(z.get(), y_raw);
  EXPECT_EQ(pool.free_blocks(), 1u);
  pool.Release(std::move(z));
}

TEST(BufferTest, PoolKeepsAtMostMaxFreeBlocks) {
  BufferPool pool(1);
  auto x = pool.Acquire();
  auto y = pool.Acquire();
  pool.Release(std::move(x));
  pool.Release(std::move(y));
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

// A worker's pool (with its loop) keeps a burst far above its minimum while it may be needed
// again, then frees half of what stayed unused each interval, down to the minimum.
TEST(BufferTest, WorkerPoolKeepsABurstThenTrimsWhatStaysUnused) {
  EventLoop loop;
  BufferPool pool(loop, 2);
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 300; ++i) {
    blocks.push_back(pool.Acquire());
  }
  for (auto& block : blocks) {
    pool.Release(std::move(block));
  }
  EXPECT_EQ(pool.free_blocks(), 300u);  // the pool without a loop keeps at most 256
  const MonoTime start = loop.now();
  loop.timers().RunExpired(start + kSecond + kSecond / 2);  // the burst's grace interval
  EXPECT_GT(pool.free_blocks(), 290u);
  loop.timers().RunExpired(start + 2 * kSecond + kSecond / 2);
  EXPECT_LT(pool.free_blocks(), 160u);
  for (int interval = 3; interval <= 15; ++interval) {
    loop.timers().RunExpired(start + interval * kSecond + kSecond / 2);
  }
  EXPECT_EQ(pool.free_blocks(), 2u);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(BufferTest, ManyBuffersShareThePool) {
  BufferPool pool;
  constexpr size_t kBuffers = 8;
  Buffer buffers[kBuffers];
  for (size_t round = 0; round < 3; ++round) {
    for (size_t i = 0; i < kBuffers; ++i) {
      buffers[i].Append(pool, Pattern(100 + i, round));
    }
    EXPECT_EQ(pool.blocks_in_use(), kBuffers);
    for (size_t i = 0; i < kBuffers; ++i) {
      EXPECT_EQ(buffers[i].readable(), Pattern(100 + i, round));
      buffers[i].Consume(buffers[i].size());
      buffers[i].ReleaseIfEmpty(pool);
    }
    EXPECT_EQ(pool.blocks_in_use(), 0u);
    EXPECT_EQ(pool.free_blocks(), kBuffers);  // no new blocks after the first round
  }
}

TEST(BufferTest, MoveTransfersContents) {
  BufferPool pool;
  Buffer a;
  a.Append(pool, "moved");
  Buffer b(std::move(a));
  EXPECT_EQ(b.readable(), "moved");
  Buffer c(std::move(b));  // move-assignment is deleted: it would need the pool
  EXPECT_EQ(c.readable(), "moved");
  c.Consume(5);
  c.ReleaseIfEmpty(pool);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

// The class invariant "no storage => nothing readable" must hold for a moved-from buffer:
// the defaulted move copies begin_/end_/capacity_ but only nulls storage_.
TEST(BufferTest, MovedFromBufferIsEmptyAndReusable) {
  BufferPool pool;
  Buffer a;
  a.Append(pool, "moved");
  Buffer b(std::move(a));
  EXPECT_FALSE(a.has_storage());  // NOLINT(bugprone-use-after-move): checking the state
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.size(), 0u);
  a.Append(pool, "new");
  EXPECT_EQ(a.size(), 3u);
  if (a.size() == 3u) {
    EXPECT_EQ(a.readable(), "new");
  }
}

}  // namespace
}  // namespace proxynode

namespace proxynode {
namespace {

// The worker's buffer_blocks_in_use stat follows the pool: blocks handed out and not back.
TEST(BufferPoolTest, InUseGaugeFollowsAcquireAndRelease) {
  BufferPool pool(1);
  Gauge gauge;
  pool.ReportInUseTo(&gauge);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  EXPECT_EQ(gauge.Get(), 2);
  EXPECT_EQ(pool.blocks_in_use(), 2u);
  pool.Release(std::move(a));
  EXPECT_EQ(gauge.Get(), 1);
  pool.Release(std::move(b));  // past max_free_blocks: freed, still counted back
  EXPECT_EQ(gauge.Get(), 0);
  EXPECT_EQ(pool.free_blocks(), 1u);
}

}  // namespace
}  // namespace proxynode
