#include "dataplane/core/byte_queue.h"

#include <string>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

// Appends `bytes` through PrepareTail/Commit, as a read would; returns what fitted.
size_t Append(ByteQueue& queue, BufferPool& pool, std::string_view bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    size_t available = 0;
    char* space = queue.PrepareTail(pool, &available);
    if (space == nullptr) break;
    const size_t n = std::min(available, bytes.size() - written);
    std::copy_n(bytes.data() + written, n, space);
    queue.Commit(n);
    written += n;
  }
  return written;
}

std::string Drain(ByteQueue& queue, BufferPool& pool) {
  std::string out;
  while (!queue.empty()) {
    std::string_view front = queue.Front();
    out.append(front);
    queue.Consume(front.size(), pool);
  }
  return out;
}

TEST(ByteQueueTest, KeepsBytesInOrderAcrossBlocks) {
  BufferPool pool;
  ByteQueue queue;
  std::string data;
  for (int i = 0; i < 40000; ++i) data += static_cast<char>('a' + i % 26);
  ASSERT_EQ(Append(queue, pool, data), data.size());
  EXPECT_EQ(queue.size(), data.size());
  EXPECT_LE(queue.Front().size(), BufferPool::kBlockSize);
  EXPECT_EQ(Drain(queue, pool), data);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(ByteQueueTest, IsBoundedAtItsBlocks) {
  BufferPool pool;
  ByteQueue queue;
  const std::string big(ByteQueue::kMaxBlocks * BufferPool::kBlockSize + 100, 'x');
  EXPECT_EQ(Append(queue, pool, big), ByteQueue::kMaxBlocks * BufferPool::kBlockSize);
  size_t available = 1;
  EXPECT_EQ(queue.PrepareTail(pool, &available), nullptr);
  EXPECT_EQ(available, 0u);
  // Reading out the head block makes room for one more.
  queue.Consume(BufferPool::kBlockSize, pool);
  EXPECT_NE(queue.PrepareTail(pool, &available), nullptr);
  EXPECT_EQ(available, BufferPool::kBlockSize);
  queue.Clear(pool);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(ByteQueueTest, PartialConsumesAndClearGiveBlocksBack) {
  BufferPool pool;
  ByteQueue queue;
  Append(queue, pool, "hello world");
  queue.Consume(6, pool);
  EXPECT_EQ(queue.Front(), "world");
  Append(queue, pool, "!");
  EXPECT_EQ(Drain(queue, pool), "world!");
  // A block taken for a read that brought nothing goes back with Clear.
  size_t available = 0;
  ASSERT_NE(queue.PrepareTail(pool, &available), nullptr);
  EXPECT_EQ(pool.blocks_in_use(), 1u);
  queue.Clear(pool);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

}  // namespace
}  // namespace proxynode
