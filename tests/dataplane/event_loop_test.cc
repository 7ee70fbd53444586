#include "dataplane/core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/stats/histogram.h"

namespace proxynode {
namespace {

using std::chrono::seconds;

// Runs `loop` in the calling thread; if it has not returned after `limit`, stops it from
// a posted task (so the test fails instead of hanging). Returns false on that timeout.
bool RunWithWatchdog(EventLoop& loop, seconds limit = seconds(10)) {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool timed_out = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (!done_cv.wait_for(lock, limit, [&] { return done; })) {
      timed_out = true;
      loop.Post([&loop] { loop.Stop(); });
    }
  });
  loop.Run();
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  done_cv.notify_one();
  watchdog.join();
  return !timed_out;
}

// A loop running in its own thread, started and confirmed running before use.
class LoopThread {
 public:
  LoopThread() {
    std::promise<std::thread::id> started;
    std::future<std::thread::id> id = started.get_future();
    thread_ = std::thread([this] { loop_.Run(); });
    loop_.Post([&started] { started.set_value(std::this_thread::get_id()); });
    id_ = id.get();
  }
  ~LoopThread() {
    if (thread_.joinable()) {
      loop_.Stop();
      thread_.join();
    }
  }
  EventLoop& loop() { return loop_; }
  std::thread::id id() const { return id_; }
  void Join() { thread_.join(); }

 private:
  EventLoop loop_;
  std::thread thread_;
  std::thread::id id_;
};

TEST(EventLoopTest, PostFromAnotherThreadRunsInTheLoopThreadInOrder) {
  LoopThread runner;
  EXPECT_NE(runner.id(), std::this_thread::get_id());
  std::vector<int> order;  // touched only in the loop thread
  std::atomic<int> wrong_thread{0};
  std::promise<void> all_ran;
  constexpr int kTasks = 1000;
  std::thread poster([&] {
    for (int i = 0; i < kTasks; ++i) {
      runner.loop().Post([&, i] {
        if (std::this_thread::get_id() != runner.id() || !runner.loop().IsInLoopThread()) {
          wrong_thread.fetch_add(1);
        }
        order.push_back(i);
        if (i == kTasks - 1) {
          all_ran.set_value();
        }
      });
    }
  });
  poster.join();
  all_ran.get_future().wait();
  runner.loop().Stop();
  runner.Join();
  EXPECT_EQ(wrong_thread.load(), 0);
  ASSERT_EQ(order.size(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(order[static_cast<size_t>(i)], i);
  }
}

TEST(EventLoopTest, PostsFromSeveralThreadsKeepEachThreadsOrder) {
  LoopThread runner;
  constexpr int kThreads = 3;
  constexpr int kTasks = 500;
  std::vector<std::vector<int>> seen(kThreads);  // loop thread only
  std::atomic<int> remaining{kThreads * kTasks};
  std::promise<void> all_ran;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        runner.loop().Post([&, t, i] {
          seen[static_cast<size_t>(t)].push_back(i);
          if (remaining.fetch_sub(1) == 1) {
            all_ran.set_value();
          }
        });
      }
    });
  }
  for (std::thread& p : posters) {
    p.join();
  }
  all_ran.get_future().wait();
  runner.loop().Stop();
  runner.Join();
  for (int t = 0; t < kThreads; ++t) {
    const std::vector<int>& s = seen[static_cast<size_t>(t)];
    ASSERT_EQ(s.size(), static_cast<size_t>(kTasks));
    for (int i = 0; i < kTasks; ++i) {
      ASSERT_EQ(s[static_cast<size_t>(i)], i) << "thread " << t;
    }
  }
}

TEST(EventLoopTest, StopFromAnotherThreadEndsRun) {
  EventLoop loop;
  std::promise<void> running;
  std::promise<void> returned;
  std::thread thread([&] {
    loop.Run();
    returned.set_value();
  });
  loop.Post([&] { running.set_value(); });
  running.get_future().wait();  // the loop is inside Run() and idle in epoll
  loop.Stop();
  std::future<void> result = returned.get_future();
  EXPECT_EQ(result.wait_for(seconds(10)), std::future_status::ready);
  thread.join();
}

// Stop() is documented as safe from any thread. A Stop() that lands before the loop thread
// has entered Run() (e.g. Worker::Start() then an immediate Worker::StopAndJoin()) must not
// be lost; Run() resetting the stop flag on entry loses it and Run() never returns.
TEST(EventLoopTest, StopBeforeRunIsNotLost) {
  EventLoop loop;
  loop.Stop();
  std::promise<void> returned;
  std::future<void> result = returned.get_future();
  std::thread thread([&] {
    loop.Run();
    returned.set_value();
  });
  const bool stopped = result.wait_for(seconds(1)) == std::future_status::ready;
  EXPECT_TRUE(stopped) << "Run() ignored a Stop() issued before it started";
  if (!stopped) {
    loop.Post([&loop] { loop.Stop(); });  // unblock: a Stop from inside the loop works
  }
  thread.join();
}

TEST(EventLoopTest, TasksPostedBeforeStopStillRun) {
  EventLoop loop;
  bool late_ran = false;
  loop.Post([&] {
    loop.Stop();
    loop.Post([&] { late_ran = true; });
  });
  ASSERT_TRUE(RunWithWatchdog(loop));
  EXPECT_TRUE(late_ran);
}

TEST(EventLoopTest, TimerArmedThroughTheLoopFires) {
  EventLoop loop;
  bool fired = false;
  MonoTime deadline = 0;
  MonoTime fired_at = 0;
  Timer timer(loop.timers(), [&] {
    fired = true;
    fired_at = loop.now();
    loop.Stop();
  });
  deadline = loop.UpdateNow() + 5 * kMillisecond;
  timer.ArmAt(deadline);
  ASSERT_TRUE(RunWithWatchdog(loop));
  EXPECT_TRUE(fired);
  EXPECT_GE(fired_at, deadline);  // never early (the loop's cached clock)
  EXPECT_FALSE(timer.armed());
}

TEST(EventLoopTest, TimerArmedFromAPostedTaskFires) {
  LoopThread runner;
  std::promise<void> fired;
  std::unique_ptr<Timer> timer;  // created, armed and destroyed in the loop thread
  runner.loop().Post([&] {
    timer = std::make_unique<Timer>(runner.loop().timers(), [&] { fired.set_value(); });
    timer->ArmAt(runner.loop().now() + 5 * kMillisecond);
  });
  EXPECT_EQ(fired.get_future().wait_for(seconds(10)), std::future_status::ready);
  std::promise<void> destroyed;
  runner.loop().Post([&] {
    timer.reset();
    destroyed.set_value();
  });
  destroyed.get_future().wait();
}

class Tracked : public DeferredDeletable {
 public:
  Tracked(bool* destroyed, EventLoop* loop = nullptr, bool* child_destroyed = nullptr)
      : destroyed_(destroyed), loop_(loop), child_destroyed_(child_destroyed) {}
  ~Tracked() override {
    *destroyed_ = true;
    if (loop_ != nullptr) {
      // Deleting one object defers another: both go before the next iteration.
      loop_->DeferDelete(std::make_unique<Tracked>(child_destroyed_));
    }
  }

 private:
  bool* destroyed_;
  EventLoop* loop_;
  bool* child_destroyed_;
};

TEST(EventLoopTest, DeferDeleteDestroysAfterTheIteration) {
  EventLoop loop;
  bool destroyed = false;
  bool child_destroyed = false;
  bool alive_in_first_task = false;
  bool alive_in_second_task = false;
  bool gone_next_iteration = false;
  bool child_gone_next_iteration = false;
  // Both tasks run in the same iteration (one batch).
  loop.Post([&] {
    loop.DeferDelete(std::make_unique<Tracked>(&destroyed, &loop, &child_destroyed));
    alive_in_first_task = !destroyed;
  });
  loop.Post([&] {
    alive_in_second_task = !destroyed;
    // Posted from inside the batch: runs in the next iteration.
    loop.Post([&] {
      gone_next_iteration = destroyed;
      child_gone_next_iteration = child_destroyed;
      loop.Stop();
    });
  });
  ASSERT_TRUE(RunWithWatchdog(loop));
  EXPECT_TRUE(alive_in_first_task);
  EXPECT_TRUE(alive_in_second_task);
  EXPECT_TRUE(gone_next_iteration);
  EXPECT_TRUE(child_gone_next_iteration);
}

TEST(EventLoopTest, DeferDeleteFromATimerCallback) {
  EventLoop loop;
  bool destroyed = false;
  bool alive_in_callback = false;
  bool alive_in_task = false;
  Timer timer(loop.timers(), [&] {
    loop.DeferDelete(std::make_unique<Tracked>(&destroyed));
    alive_in_callback = !destroyed;
    // Timers run before posted tasks in the same iteration.
    loop.Post([&] {
      alive_in_task = !destroyed;
      loop.Post([&] { loop.Stop(); });
    });
  });
  timer.ArmAt(loop.UpdateNow());
  ASSERT_TRUE(RunWithWatchdog(loop));
  EXPECT_TRUE(alive_in_callback);
  EXPECT_TRUE(destroyed);
  // The task was posted from the timer callback, during the timers step: it runs in the
  // same iteration's task step, before the deferred deletion.
  EXPECT_TRUE(alive_in_task);
}

class PipeReader : public FileEventHandler {
 public:
  PipeReader(EventLoop& loop, int fd, size_t expect) : loop_(loop), fd_(fd), expect_(expect) {}
  void OnFileEvent(uint32_t events) override {
    if (!loop_.IsInLoopThread()) {
      wrong_thread = true;
    }
    all_events |= events;
    char chunk[256];
    ssize_t n;
    while ((n = read(fd_, chunk, sizeof(chunk))) > 0) {
      data.append(chunk, static_cast<size_t>(n));
    }
    if (data.size() >= expect_) {
      loop_.RemoveFd(fd_);
      loop_.Stop();
    }
  }
  std::string data;
  uint32_t all_events = 0;
  bool wrong_thread = false;

 private:
  EventLoop& loop_;
  int fd_;
  size_t expect_;
};

TEST(EventLoopTest, AddFdDeliversReadEventsFromAPipe) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  EventLoop loop;
  PipeReader reader(loop, fds[0], 10);
  loop.AddFd(fds[0], EPOLLIN, &reader);
  std::thread writer;
  // Write from another thread once the loop is running (and blocked in epoll).
  loop.Post([&] {
    writer = std::thread([&] {
      ASSERT_EQ(write(fds[1], "hello", 5), 5);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ASSERT_EQ(write(fds[1], "world", 5), 5);
    });
  });
  const bool ok = RunWithWatchdog(loop);
  writer.join();
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(ok);
  EXPECT_EQ(reader.data, "helloworld");
  EXPECT_NE(reader.all_events & EPOLLIN, 0u);
  EXPECT_FALSE(reader.wrong_thread);
}

class CountingHandler : public FileEventHandler {
 public:
  explicit CountingHandler(std::function<void(uint32_t)> on_event)
      : on_event_(std::move(on_event)) {}
  void OnFileEvent(uint32_t events) override { on_event_(events); }

 private:
  std::function<void(uint32_t)> on_event_;
};

TEST(EventLoopTest, AddFdWithAnEventfdAndModifyFd) {
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  EventLoop loop;
  std::vector<uint32_t> events;
  CountingHandler handler([&](uint32_t e) {
    events.push_back(e);
    if (events.size() == 1) {
      // First: readable. Drain it and switch to writability, which is immediate.
      uint64_t value = 0;
      EXPECT_EQ(read(efd, &value, sizeof(value)), static_cast<ssize_t>(sizeof(value)));
      EXPECT_EQ(value, 3u);
      loop.ModifyFd(efd, EPOLLOUT, &handler);
    } else {
      loop.RemoveFd(efd);
      loop.Stop();
    }
  });
  loop.AddFd(efd, EPOLLIN, &handler);
  const uint64_t three = 3;
  ASSERT_EQ(write(efd, &three, sizeof(three)), static_cast<ssize_t>(sizeof(three)));
  const bool ok = RunWithWatchdog(loop);
  close(efd);
  ASSERT_TRUE(ok);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0] & EPOLLIN, 0u);
  EXPECT_NE(events[1] & EPOLLOUT, 0u);
}

// A handler that always has work: its eventfd stays readable (level-triggered, never read),
// and handling it costs `cost` of CPU, as a connection with requests to parse does.
class BusyReadable : public FileEventHandler {
 public:
  BusyReadable(EventLoop& loop, Nanos cost) : loop_(loop), cost_(cost) {
    fd_ = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    loop_.AddFd(fd_, EPOLLIN, this);
  }
  ~BusyReadable() override {
    loop_.RemoveFd(fd_);
    close(fd_);
  }
  void OnFileEvent(uint32_t /*events*/) override {
    const MonoTime until = MonotonicNow() + cost_;
    while (MonotonicNow() < until) {
    }
  }

 private:
  EventLoop& loop_;
  Nanos cost_;
  int fd_ = -1;
};

TEST(EventLoopTest, DueTimerDoesNotWaitBehindABatchOfReadableConnections) {
  EventLoop loop;
  // 200 readable fds at 50 us each: one batch of events takes 10 ms. A timer due 1 ms into
  // it must fire within 2 ms of its deadline, not when the batch ends. The median of five
  // probes: a shared machine may preempt the thread through one of them, while without the
  // mid-batch check every probe waits out the batch (9 ms).
  std::vector<std::unique_ptr<BusyReadable>> flood;
  for (int i = 0; i < 200; ++i) {
    flood.push_back(std::make_unique<BusyReadable>(loop, 50 * kMicrosecond));
  }
  LatencyHistogram lateness;
  int fired = 0;
  Timer probe(loop.timers(), [&] {
    lateness.Record(MonotonicNow() - probe.deadline());
    if (++fired == 5) {
      loop.Stop();
    } else {
      probe.ArmAt(MonotonicNow() + kMillisecond);
    }
  });
  probe.ArmAt(MonotonicNow() + kMillisecond);
  ASSERT_TRUE(RunWithWatchdog(loop));
  HistogramSnapshot snapshot;
  snapshot.Add(lateness);
  ASSERT_EQ(snapshot.count(), 5u);
  EXPECT_LT(snapshot.Percentile(0.5), 2 * kMillisecond)
      << "a due timer waited behind the batch of I/O events";
  flood.clear();
}

TEST(EventLoopTest, IterationsAreCounted) {
  EventLoop loop;
  int rounds = 0;
  std::function<void()> again = [&] {
    if (++rounds == 5) {
      loop.Stop();
    } else {
      loop.Post([&] { again(); });
    }
  };
  loop.Post([&] { again(); });
  ASSERT_TRUE(RunWithWatchdog(loop));
  EXPECT_EQ(rounds, 5);
  EXPECT_GE(loop.iterations(), 5u);
}

}  // namespace
}  // namespace proxynode
