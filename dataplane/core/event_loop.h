#pragma once

// One EventLoop per thread ("reactor, at most one per thread"). Each iteration:
//   1. update the cached "now";
//   2. take the epoll timeout from the earliest timer deadline (nanosecond precision,
//      epoll_pwait2);
//   3. epoll_pwait2;
//   4. dispatch file events; once kTimerCheckInterval has passed in a batch, run the timers
//      due meanwhile, so a due timer never waits behind a whole batch of I/O;
//   5. run expired timers (collected first, then run);
//   6. run posted tasks (swapped out under the mutex, run outside it);
//   7. destroy objects handed to DeferDelete() during this iteration.
//
// Thread contract: Post() and Stop() are safe to call from any thread; every other method
// must be called in the loop thread (checked by AssertInLoopThread()).

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"

namespace proxynode {

// Receives readiness events for one file descriptor registered with the loop.
class FileEventHandler {
 public:
  virtual ~FileEventHandler() = default;
  // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
  virtual void OnFileEvent(uint32_t events) = 0;
};

// Something whose destruction waits until the current loop iteration ends, so events already
// fetched for it in this batch never touch freed memory.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class EventLoop {
 public:
  using Task = absl::AnyInvocable<void()>;
  // How long a batch of events may run before the timers due meanwhile get their turn.
  static constexpr Nanos kTimerCheckInterval = 250 * kMicrosecond;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until Stop() (also if Stop() came first); binds the loop to the calling thread.
  void Run();
  // Safe from any thread: Run() returns after the current iteration.
  void Stop();
  // Safe from any thread: runs `task` in the loop thread soon, in posting order.
  void Post(Task task);

  // Loop thread only. `handler` must stay alive until RemoveFd (or the fd is closed).
  void AddFd(int fd, uint32_t events, FileEventHandler* handler);
  void ModifyFd(int fd, uint32_t events, FileEventHandler* handler);
  void RemoveFd(int fd);

  void DeferDelete(std::unique_ptr<DeferredDeletable> object);

  TimerQueue& timers() { return timers_; }
  // The time read when this iteration's wait ended, or at the last UpdateNow() (cheap; use
  // for deadlines and latencies). It only moves forward.
  MonoTime now() const { return now_; }
  // Re-reads the clock, for a measurement that must count the iteration's work so far.
  MonoTime UpdateNow() { return now_ = MonotonicNow(); }

  bool IsInLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }
  void AssertInLoopThread() const;

  // Iterations and wake-ups, for stats: how often the loop woke.
  uint64_t iterations() const { return iterations_; }

 private:
  void RunPostedTasks();
  // Between two events of a batch: once kTimerCheckInterval has passed since `checked_at`,
  // runs the timers due by now (and moves `checked_at`). Checking at an interval rather than
  // after every event keeps the sends of timers due together in one run.
  void RunTimersDueMidBatch(MonoTime& checked_at);
  void DrainWakeFd();

  int epoll_fd_;
  int wake_fd_;
  std::atomic<std::thread::id> thread_id_;
  std::atomic<bool> stop_{false};
  MonoTime now_;
  TimerQueue timers_;
  std::vector<epoll_event> events_;
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::vector<std::unique_ptr<DeferredDeletable>> deleting_;
  uint64_t iterations_ = 0;

  // std::mutex rather than absl::Mutex: Debian's Abseil is not built for ThreadSanitizer,
  // which then cannot see absl::Mutex and reports false races.
  std::mutex task_mutex_;
  std::vector<Task> tasks_ ABSL_GUARDED_BY(task_mutex_);
  std::vector<Task> running_tasks_;  // loop thread only; swapped with tasks_
};

}  // namespace proxynode
