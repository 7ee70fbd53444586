#pragma once

// A FIFO of bytes in a chain of pooled blocks (core/buffer_pool.h), bounded at kMaxBlocks:
// what a TCP relay holds back while its toxics delay, slice or pace a direction. Unlike a
// Buffer it never grows off the pool or moves bytes: a block leaves the chain once read out.
// An empty queue holds no block.
//
// Thread contract: the loop thread owning the pool.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/core/buffer_pool.h"

namespace proxynode {

class ByteQueue {
 public:
  static constexpr size_t kMaxBlocks = 16;  // 256 KiB

  ByteQueue() = default;
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  // Room at the tail for the next read (a block taken from `pool` when the tail is full), or
  // nullptr with `*available` 0 when kMaxBlocks are full.
  char* PrepareTail(BufferPool& pool, size_t* available);
  void Commit(size_t bytes);
  // The bytes at the head that are contiguous in memory (all of them or the head block's).
  std::string_view Front() const;
  // Drops `bytes` from the head; emptied blocks go back to `pool`.
  void Consume(size_t bytes, BufferPool& pool);
  // Drops everything and gives every block back (also a tail block taken for a read that
  // brought nothing).
  void Clear(BufferPool& pool);

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    uint32_t begin = 0;
    uint32_t end = 0;
  };
  Block& at(size_t i) { return blocks_[(head_ + i) % kMaxBlocks]; }
  const Block& at(size_t i) const { return blocks_[(head_ + i) % kMaxBlocks]; }

  std::array<Block, kMaxBlocks> blocks_;
  size_t head_ = 0;
  size_t count_ = 0;
  size_t size_ = 0;
};

}  // namespace proxynode
