#pragma once

// Fixed-size blocks for Buffers (core/buffer.h), kept per worker so a busy loop's bursts
// never reach the allocator (core/free_list.h says what is kept and what is trimmed).
//
// Thread contract: a BufferPool and the Buffers using it belong to one loop thread.

#include <cstddef>
#include <memory>

#include "dataplane/core/event_loop.h"
#include "dataplane/core/free_list.h"
#include "dataplane/core/owner_counter.h"

namespace proxynode {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  // Without a loop: at most `max_free_blocks` free blocks kept, the rest freed at once.
  explicit BufferPool(size_t max_free_blocks = 256) : free_(nullptr, max_free_blocks) {}
  // A worker's pool: bursts kept, what stays unused trimmed down to `min_kept` (free_list.h).
  BufferPool(EventLoop& loop, size_t min_kept) : free_(&loop, min_kept) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::unique_ptr<char[]> Acquire();
  void Release(std::unique_ptr<char[]> block);

  // Mirrors blocks_in_use() into `gauge` (the worker's buffer_blocks_in_use stat).
  void ReportInUseTo(Gauge* gauge) { in_use_gauge_ = gauge; }

  size_t free_blocks() const { return free_.size(); }
  // Blocks handed out and not yet returned (for stats: pooled memory in use).
  size_t blocks_in_use() const { return in_use_; }

 private:
  TrimmedFreeList<std::unique_ptr<char[]>> free_;
  size_t in_use_ = 0;
  Gauge* in_use_gauge_ = nullptr;
};

}  // namespace proxynode
