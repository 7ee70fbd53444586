#include "dataplane/connection_activity.h"

#include <algorithm>
#include <cstddef>

#include "dataplane/connection.h"

namespace proxynode {

ConnectionActivity::ConnectionActivity(TimerQueue& timers)
    : delay_timer(timers, [this] { owner->OnDelayTimer(); }),
      timeout_timer(timers, [this] { owner->OnTimeoutTimer(); }) {}

ConnectionActivityPool::ConnectionActivityPool(EventLoop& loop, size_t min_kept)
    : loop_(loop), min_kept_(min_kept), trim_timer_(loop.timers(), [this] { Trim(); }) {}

std::unique_ptr<ConnectionActivity> ConnectionActivityPool::Acquire(Connection* owner) {
  std::unique_ptr<ConnectionActivity> activity;
  if (free_.empty()) {
    activity = std::make_unique<ConnectionActivity>(loop_.timers());
    ++created_;
  } else {
    activity = std::move(free_.back());
    free_.pop_back();
    low_water_ = std::min(low_water_, free_.size());
  }
  activity->owner = owner;
  ++in_use_;
  return activity;
}

void ConnectionActivityPool::Release(std::unique_ptr<ConnectionActivity> activity) {
  --in_use_;
  activity->owner = nullptr;
  free_.push_back(std::move(activity));
  if (free_.size() > min_kept_ && !trim_timer_.armed()) {
    low_water_ = free_.size();
    trim_timer_.ArmAt(loop_.now() + kTrimInterval);
  }
}

void ConnectionActivityPool::Trim() {
  // The oldest releases sit at the front (the list is used as a stack from the back).
  const size_t unused = std::min(low_water_, free_.size() - std::min(free_.size(), min_kept_));
  const size_t freed = (unused + 1) / 2;
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(freed));
  low_water_ = free_.size();
  if (free_.size() > min_kept_) {
    trim_timer_.ArmAt(loop_.now() + kTrimInterval);
  }
}

}  // namespace proxynode
