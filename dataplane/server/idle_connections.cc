#include "dataplane/server/idle_connections.h"

#include "dataplane/server/connection.h"

namespace proxynode {

IdleConnections::IdleConnections(EventLoop& loop, SnapshotCache& snapshots)
    : loop_(loop), snapshots_(snapshots), timer_(loop.timers(), [this] { Sweep(); }) {}

void IdleConnections::Add(Connection& connection) {
  IdleLink& link = connection.idle_link_;
  if (link.linked) {
    return;
  }
  // Walk back past connections active more recently (rare: one that went idle without
  // reading or writing, such as after a spurious wake-up), so the order stays exact.
  Connection* before = newest_;
  while (before != nullptr && before->last_activity_ > connection.last_activity_) {
    before = before->idle_link_.prev;
  }
  link.prev = before;
  link.next = before != nullptr ? before->idle_link_.next : oldest_;
  (before != nullptr ? before->idle_link_.next : oldest_) = &connection;
  (link.next != nullptr ? link.next->idle_link_.prev : newest_) = &connection;
  link.linked = true;
  ++size_;
  if (oldest_ == &connection || !timer_.armed()) {
    ArmForOldest();
  }
}

void IdleConnections::Remove(Connection& connection) {
  IdleLink& link = connection.idle_link_;
  if (!link.linked) {
    return;
  }
  (link.prev != nullptr ? link.prev->idle_link_.next : oldest_) = link.next;
  (link.next != nullptr ? link.next->idle_link_.prev : newest_) = link.prev;
  link = IdleLink{};
  --size_;
  // The timer stays armed for the departed one's deadline: Sweep then finds the next
  // deadline. Re-arming here would cost a heap operation per request.
}

void IdleConnections::OnTimeoutChanged() { ArmForOldest(); }

void IdleConnections::Sweep() {
  const Nanos timeout = snapshots_.current().idle_timeout;
  const MonoTime now = loop_.now();
  while (oldest_ != nullptr && oldest_->last_activity_ + timeout <= now) {
    Connection& expired = *oldest_;
    Remove(expired);
    expired.OnIdleTimeout();
  }
  ArmForOldest();
}

void IdleConnections::ArmForOldest() {
  if (oldest_ == nullptr) {
    timer_.Cancel();
    return;
  }
  timer_.ArmAt(oldest_->last_activity_ + snapshots_.current().idle_timeout);
}

}  // namespace proxynode
