#include "dataplane/connection_activity.h"

#include "dataplane/connection.h"

namespace proxynode {

ConnectionActivity::ConnectionActivity(TimerQueue& timers)
    : delay_timer(timers, [this] { owner->OnDelayTimer(); }),
      timeout_timer(timers, [this] { owner->OnTimeoutTimer(); }) {}

std::unique_ptr<ConnectionActivity> ConnectionActivityPool::Acquire(Connection& owner) {
  std::unique_ptr<ConnectionActivity> activity;
  if (free_.empty()) {
    activity = std::make_unique<ConnectionActivity>(timers_);
  } else {
    activity = std::move(free_.back());
    free_.pop_back();
  }
  activity->owner = &owner;
  ++in_use_;
  return activity;
}

void ConnectionActivityPool::Release(std::unique_ptr<ConnectionActivity> activity) {
  --in_use_;
  activity->owner = nullptr;
  if (free_.size() < max_free_) {
    free_.push_back(std::move(activity));
  }
}

}  // namespace proxynode
