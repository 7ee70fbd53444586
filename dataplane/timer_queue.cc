#include "dataplane/timer_queue.h"

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
  for (Timer* timer : heap_) {
    timer->state_ = Timer::State::kIdle;
  }
}

bool TimerQueue::Less(size_t a, size_t b) const {
  const Timer* x = heap_[a];
  const Timer* y = heap_[b];
  if (x->deadline_ != y->deadline_) {
    return x->deadline_ < y->deadline_;
  }
  return x->sequence_ < y->sequence_;
}

void TimerQueue::Place(size_t index, Timer* timer) {
  heap_[index] = timer;
  timer->index_ = index;
}

void TimerQueue::SiftUp(size_t index) {
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!Less(index, parent)) {
      break;
    }
    Timer* child = heap_[index];
    Place(index, heap_[parent]);
    Place(parent, child);
    index = parent;
  }
}

void TimerQueue::SiftDown(size_t index) {
  const size_t n = heap_.size();
  while (true) {
    size_t smallest = index;
    size_t left = 2 * index + 1;
    size_t right = left + 1;
    if (left < n && Less(left, smallest)) {
      smallest = left;
    }
    if (right < n && Less(right, smallest)) {
      smallest = right;
    }
    if (smallest == index) {
      return;
    }
    Timer* parent = heap_[index];
    Place(index, heap_[smallest]);
    Place(smallest, parent);
    index = smallest;
  }
}

void TimerQueue::Insert(Timer* timer) {
  timer->sequence_ = next_sequence_++;
  timer->state_ = Timer::State::kQueued;
  heap_.push_back(timer);
  timer->index_ = heap_.size() - 1;
  SiftUp(timer->index_);
}

void TimerQueue::Remove(Timer* timer) {
  size_t index = timer->index_;
  timer->state_ = Timer::State::kIdle;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (last == timer) {
    return;
  }
  Place(index, last);
  SiftUp(index);
  SiftDown(last->index_);
}

size_t TimerQueue::RunExpired(MonoTime now) {
  // Collect first, then run: a callback may cancel or re-arm other timers, including ones
  // collected here, so each is checked again just before it runs.
  expired_.clear();
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    Timer* timer = heap_.front();
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
