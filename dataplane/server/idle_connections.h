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

class Connection;

// The links a Connection carries for this list.
struct IdleLink {
  Connection* prev = nullptr;
  Connection* next = nullptr;
  bool linked = false;
};

class IdleConnections {
 public:
  IdleConnections(EventLoop& loop, SnapshotCache& snapshots);
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Adds a connection that just turned idle (usually at the back: its activity is the
  // newest).
  void Add(Connection& connection);
  // Takes a connection out (it has work again, or closes). No-op when not listed.
  void Remove(Connection& connection);
  // The idle timeout changed: the oldest connection's deadline moved.
  void OnTimeoutChanged();

  size_t size() const { return size_; }

 private:
  // Closes every connection past its deadline, then waits for the next one's.
  void Sweep();
  void ArmForOldest();

  EventLoop& loop_;
  SnapshotCache& snapshots_;
  Connection* oldest_ = nullptr;
  Connection* newest_ = nullptr;
  size_t size_ = 0;
  Timer timer_;
};

}  // namespace proxynode
