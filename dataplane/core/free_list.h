#pragma once

// Objects kept for reuse by one loop (pooled buffer blocks, sessions), so a busy
// worker's bursts never reach the allocator: a batch of timers can release thousands at once
// that the clients' next requests take back a moment later. With a loop, nothing is freed on
// the spot; once per interval, half of what stayed free the whole interval (beyond
// `min_kept`) is freed, so after a peak the list shrinks back within seconds. Without a loop
// (unit tests of the pools' users), at most `min_kept` are kept and the rest freed at once.
//
// Thread contract: the loop's thread only.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"

namespace proxynode {

template <typename T>
class TrimmedFreeList {
 public:
  static constexpr Nanos kTrimInterval = kSecond;

  TrimmedFreeList(EventLoop* loop, size_t min_kept) : loop_(loop), min_kept_(min_kept) {
    if (loop_ != nullptr) {
      trim_timer_.emplace(loop_->timers(), [this] { Trim(); });
    }
  }
  TrimmedFreeList(const TrimmedFreeList&) = delete;
  TrimmedFreeList& operator=(const TrimmedFreeList&) = delete;

  bool empty() const { return free_.empty(); }
  size_t size() const { return free_.size(); }

  // The most recently put value; the list must not be empty.
  T Take() {
    T value = std::move(free_.back());
    free_.pop_back();
    low_water_ = std::min(low_water_, free_.size());
    return value;
  }

  void Put(T value) {
    if (loop_ == nullptr) {
      if (free_.size() < min_kept_) {
        free_.push_back(std::move(value));
      }
      return;
    }
    free_.push_back(std::move(value));
    if (free_.size() > min_kept_ && !trim_timer_->armed()) {
      low_water_ = free_.size();  // the clock starts: what stays free from here is unused
      trim_timer_->ArmAt(loop_->now() + kTrimInterval);
    }
  }

 private:
  void Trim() {
    // The oldest puts sit at the front (Take and Put work at the back).
    const size_t above_minimum = free_.size() - std::min(free_.size(), min_kept_);
    const size_t freed = (std::min(low_water_, above_minimum) + 1) / 2;
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(freed));
    low_water_ = free_.size();
    if (free_.size() > min_kept_) {
      trim_timer_->ArmAt(loop_->now() + kTrimInterval);
    }
  }

  EventLoop* loop_;
  size_t min_kept_;
  size_t low_water_ = 0;  // fewest free since the clock started: those were never needed
  std::vector<T> free_;
  std::optional<Timer> trim_timer_;
};

}  // namespace proxynode
