#pragma once

// The memory libnghttp2 asks for (its nghttp2_mem hooks), served from free lists per size
// class and kept by one worker: stream objects, header and HPACK buffers, outbound frames
// come back to the lists when nghttp2 frees them and are handed out again, so a warm worker's
// HTTP/2 connections stop calling malloc for each stream. Blocks over the largest class go
// to malloc and free directly; each list keeps at most `max_free_per_class` blocks and
// kMaxFreeBytesPerClass bytes, so a worker keeps at most 5 MiB it does not use.
//
// A pure unit over malloc. Thread contract: one worker's loop thread (every nghttp2 session
// given mem() lives and dies there), and it must outlive those sessions.

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace proxynode {

class Http2Allocator {
 public:
  // 64 bytes to 32 KiB, doubling.
  static constexpr size_t kClasses = 10;
  static constexpr size_t kSmallestClass = 64;
  static constexpr size_t kMaxFreeBytesPerClass = 512 * 1024;

  explicit Http2Allocator(size_t max_free_per_class = 512);
  ~Http2Allocator();
  Http2Allocator(const Http2Allocator&) = delete;
  Http2Allocator& operator=(const Http2Allocator&) = delete;

  // The hooks to give nghttp2_session_*_new3.
  nghttp2_mem* mem() { return &mem_; }

  // Blocks taken from malloc since the start (the figure a steady state stops growing).
  uint64_t system_allocations() const { return system_allocations_; }
  size_t free_blocks() const;

  void* Allocate(size_t size);
  void Free(void* pointer);
  void* Reallocate(void* pointer, size_t size);

 private:
  // Before each block: its class (kClasses: a large block) and usable size, 16 bytes so the
  // block keeps malloc's alignment.
  struct Header {
    uint64_t size_class;
    uint64_t capacity;
  };
  static_assert(sizeof(Header) == 16);

  std::array<std::vector<Header*>, kClasses> free_;
  std::array<size_t, kClasses> max_free_;  // blocks kept per class
  uint64_t system_allocations_ = 0;
  nghttp2_mem mem_;
};

}  // namespace proxynode
