#pragma once

// Byte buffers whose storage comes from a per-worker pool: a connection holds storage only
// while it has bytes to keep (a partial request, unsent output). An idle keep-alive
// connection returns its blocks to the pool, so it costs only its small fixed state.
//
// Thread contract: a BufferPool and the Buffers using it belong to one loop thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "dataplane/event_loop.h"
#include "dataplane/free_list.h"
#include "dataplane/worker_stats.h"

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

class Buffer {
 public:
  Buffer() = default;
  // The moved-from buffer is left empty, without storage.
  Buffer(Buffer&& other) noexcept
      : storage_(std::move(other.storage_)),
        capacity_(other.capacity_),
        begin_(other.begin_),
        end_(other.end_) {
    other.capacity_ = other.begin_ = other.end_ = 0;
  }
  // Assigning over pooled storage would need the pool to give it back to.
  Buffer& operator=(Buffer&&) = delete;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  bool empty() const { return begin_ == end_; }
  size_t size() const { return end_ - begin_; }
  bool has_storage() const { return storage_ != nullptr; }
  std::string_view readable() const { return {storage_.get() + begin_, size()}; }

  // Drops `n` bytes from the front.
  void Consume(size_t n);
  // Returns space for at least `min_free` bytes at the end (compacting or growing), and how
  // much is available in `*available`. Commit() what was written.
  char* PrepareWrite(BufferPool& pool, size_t min_free, size_t* available);
  void Commit(size_t n) { end_ += n; }
  void Append(BufferPool& pool, std::string_view bytes);
  // Gives the storage back when there is nothing to keep.
  void ReleaseIfEmpty(BufferPool& pool);

 private:
  std::unique_ptr<char[]> storage_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace proxynode
