#include "dataplane/core/byte_queue.h"

#include <algorithm>

namespace proxynode {

char* ByteQueue::PrepareTail(BufferPool& pool, size_t* available) {
  if (count_ > 0) {
    Block& tail = at(count_ - 1);
    if (tail.end < BufferPool::kBlockSize) {
      *available = BufferPool::kBlockSize - tail.end;
      return tail.data.get() + tail.end;
    }
  }
  if (count_ == kMaxBlocks) {
    *available = 0;
    return nullptr;
  }
  Block& fresh = at(count_++);
  fresh.data = pool.Acquire();
  fresh.begin = fresh.end = 0;
  *available = BufferPool::kBlockSize;
  return fresh.data.get();
}

void ByteQueue::Commit(size_t bytes) {
  at(count_ - 1).end += static_cast<uint32_t>(bytes);
  size_ += bytes;
}

std::string_view ByteQueue::Front() const {
  if (count_ == 0) return {};
  const Block& head = at(0);
  return {head.data.get() + head.begin, head.end - head.begin};
}

void ByteQueue::Consume(size_t bytes, BufferPool& pool) {
  bytes = std::min(bytes, size_);
  size_ -= bytes;
  while (bytes > 0) {
    Block& head = at(0);
    const size_t taken = std::min<size_t>(bytes, head.end - head.begin);
    head.begin += static_cast<uint32_t>(taken);
    bytes -= taken;
    // A drained head goes back to the pool, unless it is also the tail with room left.
    if (head.begin == head.end &&
        (count_ > 1 || head.end == BufferPool::kBlockSize || size_ == 0)) {
      pool.Release(std::move(head.data));
      head.begin = head.end = 0;
      head_ = (head_ + 1) % kMaxBlocks;
      --count_;
    }
  }
}

void ByteQueue::Clear(BufferPool& pool) {
  for (size_t i = 0; i < count_; ++i) {
    Block& block = at(i);
    pool.Release(std::move(block.data));
    block.begin = block.end = 0;
  }
  head_ = count_ = size_ = 0;
}

}  // namespace proxynode
