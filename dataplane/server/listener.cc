#include "dataplane/server/listener.h"

#include <sys/socket.h>

#include <cerrno>

namespace proxynode {

Listener::Listener(EventLoop& loop, int listen_fd, bool exclusive, WorkerStats& stats,
                   AcceptCallback on_accept)
    : loop_(loop),
      listen_fd_(listen_fd),
      exclusive_(exclusive),
      stats_(stats),
      on_accept_(std::move(on_accept)),
      resume_timer_(loop.timers(), [this] {
        if (wanted_) {
          Enable();
        }
      }) {}

Listener::~Listener() {
  if (enabled_) {
    loop_.RemoveFd(listen_fd_);
  }
}

void Listener::Enable() {
  wanted_ = true;
  if (!enabled_) {
    // EPOLLEXCLUSIVE only works with EPOLL_CTL_ADD, so pausing is remove + add.
    loop_.AddFd(listen_fd_, EPOLLIN | (exclusive_ ? EPOLLEXCLUSIVE : 0u), this);
    enabled_ = true;
  }
}

void Listener::Disable() {
  wanted_ = false;
  resume_timer_.Cancel();
  if (enabled_) {
    loop_.RemoveFd(listen_fd_);
    enabled_ = false;
  }
}

void Listener::OnFileEvent(uint32_t /*events*/) {
  for (int i = 0; i < kMaxAcceptsPerWakeup && enabled_; ++i) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd);
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return;  // the queue is empty (or another worker took the connection)
      case EINTR:
      case ECONNABORTED:
        continue;
      case EMFILE:
      case ENFILE:
        // The connection stays queued; accepting again at once would spin on it.
        stats_.rejected.fd_limit.Add();
        loop_.RemoveFd(listen_fd_);
        enabled_ = false;
        resume_timer_.ArmAt(loop_.now() + kFdExhaustedPause);
        return;
      case EINVAL:
        // The socket stopped listening (the node drains: StopListening) before this worker
        // left it; it stays readable, so leave it now rather than spin.
        Disable();
        return;
      default:
        stats_.accept_errors.Add();
        return;
    }
  }
}

}  // namespace proxynode
