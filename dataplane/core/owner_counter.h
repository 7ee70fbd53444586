#pragma once

// Counters written by one thread and read by any: plain relaxed load and store, no locked
// read-modify-write, since only the owner ever writes. Readers see a recent value.
//
// Thread contract: one writer (the owning loop thread); any number of readers.

#include <atomic>
#include <cstdint>

namespace proxynode {

struct Counter {
  std::atomic<uint64_t> value{0};
  void Add(uint64_t n = 1) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return value.load(std::memory_order_relaxed); }
};

struct Gauge {
  std::atomic<int64_t> value{0};
  void Add(int64_t n) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(int64_t n) { value.store(n, std::memory_order_relaxed); }
  int64_t Get() const { return value.load(std::memory_order_relaxed); }
};

}  // namespace proxynode
