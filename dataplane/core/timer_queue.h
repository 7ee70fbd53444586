#pragma once

// Timers of one event loop: an indexed binary min-heap ordered by (deadline, sequence), so
// timers with equal deadlines fire in the order they were armed. The heap holds the keys
// beside the pointers, so comparisons never touch the timers themselves (each is a member of
// a separately allocated connection: reading it is a cache miss once the heap is large). A Timer is
// an intrusive node owned by its user (usually a Connection member): arming and cancelling never
// allocate, and destroying a Timer cancels it.
//
// Thread contract: a TimerQueue and its Timers belong to one loop thread.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "dataplane/core/clock.h"

namespace proxynode {

class TimerQueue;

class Timer {
 public:
  Timer(TimerQueue& queue, absl::AnyInvocable<void()> callback)
      : queue_(queue), callback_(std::move(callback)) {}
  ~Timer() { Cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Arms (or re-arms) the timer to fire once at `deadline`.
  void ArmAt(MonoTime deadline);
  void Cancel();
  bool armed() const { return state_ == State::kQueued; }
  MonoTime deadline() const { return deadline_; }

 private:
  friend class TimerQueue;
  // kFiring: collected by RunExpired and about to run; `index_` is then its slot in the
  // expired list, so a cancel (or destruction) from an earlier callback can withdraw it.
  enum class State : uint8_t { kIdle, kQueued, kFiring };

  TimerQueue& queue_;
  absl::AnyInvocable<void()> callback_;
  MonoTime deadline_ = 0;
  size_t index_ = 0;  // heap slot (kQueued) or expired-list slot (kFiring)
  State state_ = State::kIdle;
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  // Runs the callbacks of every timer whose deadline is <= now, earliest first. Timers armed
  // by those callbacks for a time <= now run in a later call, so one call is bounded.
  // Returns how many fired.
  size_t RunExpired(MonoTime now);

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Earliest deadline; only valid when !empty().
  MonoTime NextDeadline() const { return heap_.front().deadline; }

 private:
  friend class Timer;
  struct Entry {
    MonoTime deadline;
    uint64_t sequence;
    Timer* timer;
  };
  static bool Before(const Entry& a, const Entry& b) {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence;
  }
  void Insert(Timer* timer);
  void Remove(Timer* timer);
  void Place(size_t index, const Entry& entry);
  // Move the entry at `index` up or down to its place, shifting the others by one slot.
  void SiftUp(size_t index);
  void SiftDown(size_t index);

  std::vector<Entry> heap_;
  std::vector<Timer*> expired_;  // reused by RunExpired
  uint64_t next_sequence_ = 0;
};

}  // namespace proxynode
