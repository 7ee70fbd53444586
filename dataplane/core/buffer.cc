#include "dataplane/core/buffer.h"

#include <algorithm>
#include <cstring>

#include "dataplane/core/buffer_pool.h"

namespace proxynode {

void Buffer::Consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
}

char* Buffer::PrepareWrite(BufferPool& pool, size_t min_free, size_t* available) {
  if (storage_ == nullptr) {
    if (min_free <= BufferPool::kBlockSize) {
      storage_ = pool.Acquire();
      capacity_ = BufferPool::kBlockSize;
    } else {
      storage_ = std::make_unique_for_overwrite<char[]>(min_free);
      capacity_ = min_free;
    }
  } else if (capacity_ - end_ < min_free) {
    const size_t kept = size();
    if (capacity_ - kept >= min_free) {
      std::memmove(storage_.get(), storage_.get() + begin_, kept);
    } else {
      // Grow off-pool; the oversized block is freed, not pooled, when released.
      size_t new_capacity = std::max(capacity_ * 2, kept + min_free);
      auto bigger = std::make_unique_for_overwrite<char[]>(new_capacity);
      std::memcpy(bigger.get(), storage_.get() + begin_, kept);
      if (capacity_ == BufferPool::kBlockSize) {
        pool.Release(std::move(storage_));
      }
      storage_ = std::move(bigger);
      capacity_ = new_capacity;
    }
    begin_ = 0;
    end_ = kept;
  }
  *available = capacity_ - end_;
  return storage_.get() + end_;
}

void Buffer::Append(BufferPool& pool, std::string_view bytes) {
  size_t available;
  char* out = PrepareWrite(pool, bytes.size(), &available);
  std::memcpy(out, bytes.data(), bytes.size());
  Commit(bytes.size());
}

void Buffer::ReleaseIfEmpty(BufferPool& pool) {
  if (storage_ == nullptr || !empty()) {
    return;
  }
  if (capacity_ == BufferPool::kBlockSize) {
    pool.Release(std::move(storage_));
  }
  storage_.reset();
  capacity_ = 0;
  begin_ = end_ = 0;
}

}  // namespace proxynode
