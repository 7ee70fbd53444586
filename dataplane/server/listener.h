#pragma once

// Accepts connections from a listening socket shared by every worker. Each worker registers
// the same socket in its own epoll set with EPOLLEXCLUSIVE, so the kernel wakes one waiting
// worker per new connection, and a worker that stops listening (retired or draining) leaves
// the accept queue intact for the others (unlike per-worker SO_REUSEPORT sockets, whose queue
// dies with the socket). A drain stops the socket itself (StopListening), so the kernel
// refuses new connections at once instead of queueing them for nobody.
//
// Thread contract: loop thread only.

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

class Listener : public FileEventHandler {
 public:
  using AcceptCallback = absl::AnyInvocable<void(int fd)>;

  // Accepts at most this many connections per wake-up, so one storm of connects cannot
  // starve the requests of connections already open (level-triggered: the rest comes next).
  static constexpr int kMaxAcceptsPerWakeup = 64;
  // After EMFILE/ENFILE the listener pauses this long (the socket stays readable meanwhile).
  static constexpr Nanos kFdExhaustedPause = 100 * kMillisecond;

  Listener(EventLoop& loop, int listen_fd, bool exclusive, WorkerStats& stats,
           AcceptCallback on_accept);
  ~Listener() override;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void Enable();
  void Disable();
  bool enabled() const { return enabled_; }

  void OnFileEvent(uint32_t events) override;

 private:
  EventLoop& loop_;
  const int listen_fd_;
  const bool exclusive_;
  WorkerStats& stats_;
  AcceptCallback on_accept_;
  Timer resume_timer_;
  bool enabled_ = false;
  bool wanted_ = false;  // Enable() was called; a pause re-enables when it ends
};

}  // namespace proxynode
