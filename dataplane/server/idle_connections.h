#pragma once

// A worker's idle keep-alive connections, in order of their last activity, and the one timer
// that closes those idle longer than idle_timeout. An idle connection thus needs no timer of
// its own, only two list links: with thousands of idle connections that is most of what a
// timer per connection would cost, and arming nothing per request as connections come and go
// out of idleness keeps the timer heap small.
//
// Every idle connection shares the node's idle_timeout, so the list's order (by last
// activity) is also the order of their deadlines: only the oldest is ever checked.
//
// Thread contract: one per worker; loop thread only.

#include <cstddef>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"

namespace proxynode {

// What a listed connection carries: the list's links (IdleConnections' alone to change) and
// the time of its last activity (its owner's to update).
struct IdleListEntry {
  IdleListEntry* idle_prev = nullptr;
  IdleListEntry* idle_next = nullptr;
  MonoTime last_activity = 0;
  bool idle_linked = false;
};

class IdleConnections {
 public:
  // Called for each entry past its deadline, after it left the list.
  using ExpireFn = void (*)(IdleListEntry& entry);

  IdleConnections(EventLoop& loop, SnapshotCache& snapshots, ExpireFn expire);
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Adds a connection that just turned idle (usually at the back: its activity is the
  // newest).
  void Add(IdleListEntry& connection);
  // Takes a connection out (it has work again, or closes). No-op when not listed.
  void Remove(IdleListEntry& connection);
  // The idle timeout changed: the oldest connection's deadline moved.
  void OnTimeoutChanged();

  size_t size() const { return size_; }

 private:
  // Closes every connection past its deadline, then waits for the next one's.
  void Sweep();
  void ArmForOldest();

  EventLoop& loop_;
  SnapshotCache& snapshots_;
  const ExpireFn expire_;
  IdleListEntry* oldest_ = nullptr;
  IdleListEntry* newest_ = nullptr;
  size_t size_ = 0;
  Timer timer_;
};

}  // namespace proxynode
