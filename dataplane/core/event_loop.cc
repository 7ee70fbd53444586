#include "dataplane/core/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace proxynode {
namespace {

constexpr int kMaxEventsPerWait = 256;

[[noreturn]] void DieErrno(const char* what) {
  std::fprintf(stderr, "fatal: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

}  // namespace

EventLoop::EventLoop()
    : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      thread_id_(std::this_thread::get_id()),
      now_(MonotonicNow()),
      events_(kMaxEventsPerWait) {
  if (epoll_fd_ < 0) {
    DieErrno("epoll_create1");
  }
  if (wake_fd_ < 0) {
    DieErrno("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up fd is the only registration without a handler
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    DieErrno("epoll_ctl(eventfd)");
  }
}

EventLoop::~EventLoop() {
  deferred_.clear();
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::AssertInLoopThread() const {
  if (!IsInLoopThread()) {
    std::fprintf(stderr, "fatal: EventLoop used outside its thread\n");
    std::abort();
  }
}

void EventLoop::Stop() {
  stop_.store(true, std::memory_order_release);
  Post([] {});  // wakes the loop if it is waiting
}

void EventLoop::Post(Task task) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(task_mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  // Only the first task after a drain needs a wake-up: the loop runs the whole batch.
  if (was_empty) {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
  }
}

void EventLoop::AddFd(int fd, uint32_t events, FileEventHandler* handler) {
  AssertInLoopThread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    DieErrno("epoll_ctl(ADD)");
  }
}

void EventLoop::ModifyFd(int fd, uint32_t events, FileEventHandler* handler) {
  AssertInLoopThread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    DieErrno("epoll_ctl(MOD)");
  }
}

void EventLoop::RemoveFd(int fd) {
  AssertInLoopThread();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::DeferDelete(std::unique_ptr<DeferredDeletable> object) {
  AssertInLoopThread();
  deferred_.push_back(std::move(object));
}

void EventLoop::DrainWakeFd() {
  uint64_t value;
  while (read(wake_fd_, &value, sizeof(value)) > 0) {
  }
}

void EventLoop::RunPostedTasks() {
  {
    std::lock_guard<std::mutex> lock(task_mutex_);
    running_tasks_.swap(tasks_);
  }
  for (Task& task : running_tasks_) {
    task();
  }
  running_tasks_.clear();
}

void EventLoop::RunTimersDueMidBatch(MonoTime& checked_at) {
  if (timers_.empty()) {
    return;
  }
  const MonoTime current = MonotonicNow();
  if (current - checked_at < kTimerCheckInterval) {
    return;
  }
  checked_at = current;
  if (timers_.NextDeadline() <= current) {
    now_ = std::max(now_, current);
    timers_.RunExpired(now_);
  }
}

void EventLoop::Run() {
  thread_id_.store(std::this_thread::get_id());
  // stop_ is not reset here: a Stop() that raced ahead of Run() must still stop it.
  while (!stop_.load(std::memory_order_acquire)) {
    ++iterations_;
    now_ = MonotonicNow();
    timespec timeout{};
    timespec* timeout_ptr = nullptr;  // no timer: wait for I/O or a posted task
    if (!timers_.empty()) {
      Nanos wait = timers_.NextDeadline() - now_;
      if (wait < 0) {
        wait = 0;
      }
      timeout.tv_sec = wait / kSecond;
      timeout.tv_nsec = wait % kSecond;
      timeout_ptr = &timeout;
    }
    int n = epoll_pwait2(epoll_fd_, events_.data(), static_cast<int>(events_.size()), timeout_ptr,
                         nullptr);
    if (n < 0 && errno != EINTR) {
      DieErrno("epoll_pwait2");
    }
    now_ = MonotonicNow();
    MonoTime timers_checked_at = now_;
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        RunTimersDueMidBatch(timers_checked_at);
      }
      auto* handler = static_cast<FileEventHandler*>(events_[static_cast<size_t>(i)].data.ptr);
      if (handler == nullptr) {
        DrainWakeFd();
      } else {
        handler->OnFileEvent(events_[static_cast<size_t>(i)].events);
      }
    }
    now_ = MonotonicNow();
    timers_.RunExpired(now_);
    RunPostedTasks();
    // Deleting may defer more deletions (a connection releasing its parts): loop until none.
    while (!deferred_.empty()) {
      deleting_.swap(deferred_);
      deleting_.clear();
    }
  }
  // Tasks posted before Stop() still run, so nothing posted is silently dropped.
  RunPostedTasks();
  while (!deferred_.empty()) {  // a worker's teardown defers its upstream connections
    deleting_.swap(deferred_);
    deleting_.clear();
  }
}

}  // namespace proxynode
