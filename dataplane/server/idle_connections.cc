#include "dataplane/server/idle_connections.h"

namespace proxynode {

IdleConnections::IdleConnections(EventLoop& loop, SnapshotCache& snapshots, ExpireFn expire)
    : loop_(loop),
      snapshots_(snapshots),
      expire_(expire),
      timer_(loop.timers(), [this] { Sweep(); }) {}

void IdleConnections::Add(IdleListEntry& connection) {
  if (connection.idle_linked) {
    return;
  }
  // Walk back past connections active more recently (rare: one that went idle without
  // reading or writing, such as after a spurious wake-up), so the order stays exact.
  IdleListEntry* before = newest_;
  while (before != nullptr && before->last_activity > connection.last_activity) {
    before = before->idle_prev;
  }
  connection.idle_prev = before;
  connection.idle_next = before != nullptr ? before->idle_next : oldest_;
  (before != nullptr ? before->idle_next : oldest_) = &connection;
  (connection.idle_next != nullptr ? connection.idle_next->idle_prev : newest_) = &connection;
  connection.idle_linked = true;
  ++size_;
  if (oldest_ == &connection || !timer_.armed()) {
    ArmForOldest();
  }
}

void IdleConnections::Remove(IdleListEntry& connection) {
  if (!connection.idle_linked) {
    return;
  }
  (connection.idle_prev != nullptr ? connection.idle_prev->idle_next : oldest_) =
      connection.idle_next;
  (connection.idle_next != nullptr ? connection.idle_next->idle_prev : newest_) =
      connection.idle_prev;
  connection.idle_prev = connection.idle_next = nullptr;
  connection.idle_linked = false;
  --size_;
  // The timer stays armed for the departed one's deadline: Sweep then finds the next
  // deadline. Re-arming here would cost a heap operation per request.
}

void IdleConnections::OnTimeoutChanged() { ArmForOldest(); }

void IdleConnections::Sweep() {
  const Nanos timeout = snapshots_.current().idle_timeout;
  const MonoTime now = loop_.now();
  while (oldest_ != nullptr && oldest_->last_activity + timeout <= now) {
    IdleListEntry& expired = *oldest_;
    Remove(expired);
    expire_(expired);
  }
  ArmForOldest();
}

void IdleConnections::ArmForOldest() {
  if (oldest_ == nullptr) {
    timer_.Cancel();
    return;
  }
  timer_.ArmAt(oldest_->last_activity + snapshots_.current().idle_timeout);
}

}  // namespace proxynode
