#include "dataplane/server/connection_activity.h"

#include "dataplane/server/connection.h"

namespace proxynode {

ConnectionActivity::ConnectionActivity(TimerQueue& timers)
    : delay_timer(timers, [this] { owner->OnDelayTimer(); }),
      timeout_timer(timers, [this] { owner->OnTimeoutTimer(); }) {}

std::unique_ptr<ConnectionActivity> ConnectionActivityPool::Acquire(Connection* owner) {
  std::unique_ptr<ConnectionActivity> activity;
  if (free_.empty()) {
    activity = std::make_unique<ConnectionActivity>(loop_.timers());
    ++created_;
  } else {
    activity = free_.Take();
  }
  activity->owner = owner;
  ++in_use_;
  return activity;
}

void ConnectionActivityPool::Release(std::unique_ptr<ConnectionActivity> activity) {
  --in_use_;
  activity->owner = nullptr;
  free_.Put(std::move(activity));
}

}  // namespace proxynode
