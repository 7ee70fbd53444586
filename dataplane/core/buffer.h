#pragma once

// A byte buffer whose storage comes from a per-worker BufferPool (core/buffer_pool.h): a
// connection holds storage only while it has bytes to keep (a partial request, unsent
// output). An idle keep-alive connection gives its block back, so it costs only its small
// fixed state. Depends on nothing else in the project: the pool is passed in where storage
// is taken or given back.
//
// Thread contract: a Buffer belongs to the loop thread of the pool it draws on.

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

namespace proxynode {

class BufferPool;

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
  // Keeps the first `n` readable bytes and drops the rest (n <= size()).
  void Truncate(size_t n) { end_ = begin_ + n; }
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
