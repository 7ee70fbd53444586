#pragma once

// Gives memory the workers freed back to the kernel. glibc keeps freed memory in its
// per-thread arenas, so after a burst of connections closes, or a worker retires, the node can
// hold tens of MiB it no longer uses (a 10-minute soak ended at 110 MiB of RSS against a
// 30 MiB baseline; malloc_trim brought a smaller case from 50 to 22 MiB). Trimming takes each
// arena's lock in turn, so it runs on the main thread's housekeeping tick, never on a worker,
// and only after such a drop, not on a timer.
//
// Thread contract: one thread (the main loop) calls Tick.

#include <cstdint>
#include <functional>

namespace proxynode {

class MemoryTrimmer {
 public:
  // A fall of at least this many open connections, to half the peak or less, is a drop.
  static constexpr int64_t kDropConnections = 1024;

  // `trim` does the work; by default malloc_trim(0).
  explicit MemoryTrimmer(std::function<void()> trim = nullptr);

  // Every housekeeping tick: the node's open connections now, and how many workers were
  // reaped since the last tick. Trims after a drop from the peak or a worker's end.
  void Tick(int64_t connections, size_t workers_reaped);

  int trims() const { return trims_; }

 private:
  std::function<void()> trim_;
  int64_t peak_ = 0;  // most connections since the last trim
  int trims_ = 0;
};

}  // namespace proxynode
