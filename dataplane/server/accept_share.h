#pragma once

// Keeps connections even across the workers that share one listening socket. EPOLLEXCLUSIVE
// wakes one waiting worker per connection, but not fairly: at 19,000 connections the two
// workers of a node held 10,676 and 8,326. As nginx's `accept_disabled` does, a worker that
// holds more than its share stops accepting until the others catch up. The worker with the
// fewest connections is never over its share, so some worker always serves the accept queue.
//
// Pure functions of counts read from other threads (relaxed, possibly a little stale: the
// margins absorb that).

#include <algorithm>
#include <cstdint>

namespace proxynode {

struct AcceptShare {
  // Over this many connections above the fair share (node total / workers), a worker stops
  // accepting: 1/32 of the share (3%), and at least 2 so that small counts do not flap.
  static int64_t Margin(int64_t share) { return std::max<int64_t>(share / 32, 2); }

  static bool ShouldPause(int64_t mine, int64_t node_total, uint32_t workers) {
    if (workers < 2) {
      return false;
    }
    const int64_t share = node_total / workers;
    return mine > share + Margin(share);
  }

  // Resumes at half the margin, so that one accept does not pause it again at once.
  static bool ShouldResume(int64_t mine, int64_t node_total, uint32_t workers) {
    if (workers < 2) {
      return true;
    }
    const int64_t share = node_total / workers;
    return mine <= share + Margin(share) / 2;
  }
};

}  // namespace proxynode
