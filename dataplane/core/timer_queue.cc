#include "dataplane/core/timer_queue.h"

#include <utility>

namespace proxynode {

void Timer::ArmAt(MonoTime deadline) {
  Cancel();
  deadline_ = deadline;
  queue_.Insert(this);
}

void Timer::Cancel() {
  if (state_ == State::kQueued) {
    queue_.Remove(this);
  } else if (state_ == State::kFiring) {
    queue_.expired_[index_] = nullptr;
  }
  state_ = State::kIdle;
}

TimerQueue::~TimerQueue() {
  for (const Entry& entry : heap_) {
    entry.timer->state_ = Timer::State::kIdle;
  }
}

void TimerQueue::Place(size_t index, const Entry& entry) {
  heap_[index] = entry;
  entry.timer->index_ = index;
}

void TimerQueue::SiftUp(size_t index) {
  const Entry moving = heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Before(moving, heap_[parent])) {
      break;
    }
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, moving);
}

void TimerQueue::SiftDown(size_t index) {
  const size_t n = heap_.size();
  const Entry moving = heap_[index];
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= n) {
      break;
    }
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) {
      ++child;
    }
    if (!Before(heap_[child], moving)) {
      break;
    }
    Place(index, heap_[child]);
    index = child;
  }
  Place(index, moving);
}

void TimerQueue::Insert(Timer* timer) {
  timer->state_ = Timer::State::kQueued;
  heap_.push_back(Entry{timer->deadline_, next_sequence_++, timer});
  SiftUp(heap_.size() - 1);
}

void TimerQueue::Remove(Timer* timer) {
  const size_t index = timer->index_;
  timer->state_ = Timer::State::kIdle;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (last.timer == timer) {
    return;
  }
  Place(index, last);
  SiftUp(index);
  SiftDown(last.timer->index_);
}

size_t TimerQueue::RunExpired(MonoTime now) {
  // Collect first, then run: a callback may cancel or re-arm other timers, including ones
  // collected here, so each is checked again just before it runs.
  expired_.clear();
  while (!heap_.empty() && heap_.front().deadline <= now) {
    Timer* timer = heap_.front().timer;
    Remove(timer);
    timer->state_ = Timer::State::kFiring;
    timer->index_ = expired_.size();
    expired_.push_back(timer);
  }
  size_t fired = 0;
  for (size_t i = 0; i < expired_.size(); ++i) {
    Timer* timer = expired_[i];
    if (timer == nullptr) {
      continue;
    }
    ++fired;
    timer->state_ = Timer::State::kIdle;
    timer->callback_();
  }
  expired_.clear();
  return fired;
}

}  // namespace proxynode
