#pragma once

// A single-producer, single-consumer ring of whole text lines: a worker (the producer) puts
// a line without blocking or allocating, or learns that there is no room; one writer thread
// (the consumer) takes what is there and writes it out. Lines are never split between two
// takes, so lines from several rings interleave only at line boundaries.
//
// Thread contract: TryPut from one thread, Take/Commit from one other thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace proxynode {

class LineRing {
 public:
  // `capacity` is rounded up to a power of two.
  explicit LineRing(size_t capacity);
  LineRing(const LineRing&) = delete;
  LineRing& operator=(const LineRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer: copies `line` (which ends with '\n') in whole, or returns false when it does
  // not fit now.
  bool TryPut(std::string_view line);

  // Consumer: up to `max_bytes` of whole lines from the oldest on, as at most two pieces (the
  // ring may wrap); empty when nothing is there. A single line longer than `max_bytes` is
  // taken whole. The bytes stay valid until Commit.
  struct Piece {
    std::string_view first;
    std::string_view second;
    size_t size() const { return first.size() + second.size(); }
  };
  Piece Take(size_t max_bytes) const;
  // Consumer: frees the `bytes` taken.
  void Commit(size_t bytes);

 private:
  std::unique_ptr<char[]> data_;
  size_t mask_;
  // Byte positions, ever growing; head_ - tail_ bytes are in the ring.
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
};

}  // namespace proxynode
