#include "dataplane/core/timer_queue.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

// Timers that record their id into `fired` when they run.
class Recorder {
 public:
  explicit Recorder(TimerQueue& queue) : queue_(queue) {}

  Timer& Add(int id) {
    timers_.push_back(std::make_unique<Timer>(queue_, [this, id] { fired.push_back(id); }));
    return *timers_.back();
  }
  Timer& at(size_t i) { return *timers_[i]; }

  std::vector<int> fired;

 private:
  TimerQueue& queue_;
  std::vector<std::unique_ptr<Timer>> timers_;
};

TEST(TimerQueueTest, NewQueueIsEmptyAndRunsNothing) {
  TimerQueue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_EQ(queue.RunExpired(1'000'000), 0u);
}

TEST(TimerQueueTest, FiresInDeadlineOrder) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(30).ArmAt(30);
  r.Add(10).ArmAt(10);
  r.Add(50).ArmAt(50);
  r.Add(20).ArmAt(20);
  r.Add(40).ArmAt(40);
  EXPECT_EQ(queue.size(), 5u);
  EXPECT_EQ(queue.RunExpired(100), 5u);
  EXPECT_EQ(r.fired, (std::vector<int>{10, 20, 30, 40, 50}));
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueTest, EqualDeadlinesFireInArmingOrder) {
  TimerQueue queue;
  Recorder r(queue);
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) {
    r.Add(i).ArmAt(7);
    expected.push_back(i);
  }
  EXPECT_EQ(queue.RunExpired(7), 100u);
  EXPECT_EQ(r.fired, expected);
}

TEST(TimerQueueTest, ReArmingAtTheSameDeadlineMovesToTheBackOfTheTies) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(0).ArmAt(5);
  r.Add(1).ArmAt(5);
  r.Add(2).ArmAt(5);
  r.at(0).ArmAt(5);  // armed last now
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.RunExpired(5), 3u);
  EXPECT_EQ(r.fired, (std::vector<int>{1, 2, 0}));
}

TEST(TimerQueueTest, RunExpiredRunsOnlyDueTimersAndReturnsTheCount) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(10).ArmAt(10);
  r.Add(20).ArmAt(20);
  r.Add(30).ArmAt(30);

  EXPECT_EQ(queue.RunExpired(9), 0u);
  EXPECT_TRUE(r.fired.empty());

  EXPECT_EQ(queue.RunExpired(20), 2u);  // deadline == now is due
  EXPECT_EQ(r.fired, (std::vector<int>{10, 20}));
  EXPECT_FALSE(r.at(0).armed());
  EXPECT_FALSE(r.at(1).armed());
  EXPECT_TRUE(r.at(2).armed());
  EXPECT_EQ(queue.size(), 1u);

  EXPECT_EQ(queue.RunExpired(29), 0u);
  EXPECT_EQ(queue.RunExpired(30), 1u);
  EXPECT_EQ(r.fired, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(queue.RunExpired(1000), 0u);
}

TEST(TimerQueueTest, NegativeAndLargeDeadlines) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(2).ArmAt(INT64_MAX);
  r.Add(1).ArmAt(0);
  r.Add(0).ArmAt(-5);
  EXPECT_EQ(queue.NextDeadline(), -5);
  EXPECT_EQ(queue.RunExpired(0), 2u);
  EXPECT_EQ(r.fired, (std::vector<int>{0, 1}));
  EXPECT_EQ(queue.RunExpired(INT64_MAX), 1u);
}

TEST(TimerQueueTest, CancelPreventsFiring) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(1).ArmAt(10);
  r.Add(2).ArmAt(20);
  r.Add(3).ArmAt(30);
  r.at(1).Cancel();
  EXPECT_FALSE(r.at(1).armed());
  EXPECT_EQ(queue.size(), 2u);
  r.at(1).Cancel();  // cancelling twice is harmless
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.RunExpired(100), 2u);
  EXPECT_EQ(r.fired, (std::vector<int>{1, 3}));
}

TEST(TimerQueueTest, CancelOfNeverArmedTimerIsHarmless) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(1).Cancel();
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.RunExpired(100), 0u);
}

TEST(TimerQueueTest, ReArmMovesTheDeadline) {
  TimerQueue queue;
  Recorder r(queue);
  Timer& t = r.Add(1);
  r.Add(2).ArmAt(30);
  t.ArmAt(10);
  t.ArmAt(50);  // later
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(t.deadline(), 50);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.NextDeadline(), 30);
  EXPECT_EQ(queue.RunExpired(10), 0u);
  EXPECT_EQ(queue.RunExpired(30), 1u);
  EXPECT_EQ(r.fired, (std::vector<int>{2}));

  t.ArmAt(5);  // earlier than before
  EXPECT_EQ(queue.NextDeadline(), 5);
  EXPECT_EQ(queue.RunExpired(5), 1u);
  EXPECT_EQ(r.fired, (std::vector<int>{2, 1}));
  EXPECT_EQ(queue.RunExpired(50), 0u);  // the old deadline left nothing behind
}

TEST(TimerQueueTest, TimerFiresAgainAfterReArmingFromIdle) {
  TimerQueue queue;
  Recorder r(queue);
  Timer& t = r.Add(1);
  t.ArmAt(10);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  t.ArmAt(20);
  EXPECT_EQ(queue.RunExpired(20), 1u);
  EXPECT_EQ(r.fired, (std::vector<int>{1, 1}));
}

TEST(TimerQueueTest, DestroyingATimerCancelsIt) {
  TimerQueue queue;
  int fired = 0;
  auto a = std::make_unique<Timer>(queue, [&] { ++fired; });
  auto b = std::make_unique<Timer>(queue, [&] { fired += 10; });
  a->ArmAt(10);
  b->ArmAt(20);
  a.reset();
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.NextDeadline(), 20);
  EXPECT_EQ(queue.RunExpired(100), 1u);
  EXPECT_EQ(fired, 10);
}

TEST(TimerQueueTest, TimerMayOutliveItsQueue) {
  auto queue = std::make_unique<TimerQueue>();
  int fired = 0;
  Timer t(*queue, [&] { ++fired; });
  t.ArmAt(10);
  queue.reset();  // ~Timer below must not touch the freed queue (ASan checks)
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(fired, 0);
}

TEST(TimerQueueTest, CallbackCancellingAnotherExpiredTimerPreventsIt) {
  TimerQueue queue;
  std::vector<int> fired;
  Timer b(queue, [&] { fired.push_back(2); });
  Timer c(queue, [&] { fired.push_back(3); });
  Timer a(queue, [&] {
    fired.push_back(1);
    b.Cancel();
  });
  a.ArmAt(10);
  b.ArmAt(20);
  c.ArmAt(30);
  EXPECT_EQ(queue.RunExpired(100), 2u);  // b was collected but withdrawn
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_FALSE(b.armed());
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueTest, CallbackDestroyingAnotherExpiredTimerIsSafe) {
  TimerQueue queue;
  std::vector<int> fired;
  auto b = std::make_unique<Timer>(queue, [&] { fired.push_back(2); });
  auto c = std::make_unique<Timer>(queue, [&] { fired.push_back(3); });
  Timer a(queue, [&] {
    fired.push_back(1);
    b.reset();  // b is in the expired batch: must be withdrawn, not run after free
    c.reset();
  });
  a.ArmAt(10);
  b->ArmAt(10);
  c->ArmAt(10);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueTest, CallbackDestroyingAQueuedTimerNotYetDueIsSafe) {
  TimerQueue queue;
  std::vector<int> fired;
  auto later = std::make_unique<Timer>(queue, [&] { fired.push_back(2); });
  Timer a(queue, [&] {
    fired.push_back(1);
    later.reset();
  });
  a.ArmAt(10);
  later->ArmAt(1000);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.RunExpired(1000), 0u);
  EXPECT_EQ(fired, (std::vector<int>{1}));
}

TEST(TimerQueueTest, CallbackReArmingItselfForNowRunsInTheNextCall) {
  TimerQueue queue;
  int runs = 0;
  std::optional<Timer> t;
  t.emplace(queue, [&] {
    ++runs;
    t->ArmAt(10);  // <= now: must not run again in this call
  });
  t->ArmAt(10);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(t->armed());
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(runs, 2);
  t->Cancel();
  EXPECT_EQ(queue.RunExpired(10), 0u);
}

TEST(TimerQueueTest, CallbackReArmingAnotherExpiredTimerDefersIt) {
  TimerQueue queue;
  std::vector<int> fired;
  Timer b(queue, [&] { fired.push_back(2); });
  Timer c(queue, [&] { fired.push_back(3); });
  Timer a(queue, [&] {
    fired.push_back(1);
    b.ArmAt(10);   // collected in this batch: re-armed for <= now, runs next call
    c.ArmAt(500);  // collected in this batch: moved to the future
  });
  a.ArmAt(10);
  b.ArmAt(10);
  c.ArmAt(10);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  EXPECT_TRUE(b.armed());
  EXPECT_TRUE(c.armed());
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_EQ(queue.RunExpired(499), 0u);
  EXPECT_EQ(queue.RunExpired(500), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueueTest, TimerArmedByACallbackForNowRunsInTheNextCall) {
  TimerQueue queue;
  std::vector<int> fired;
  Timer b(queue, [&] { fired.push_back(2); });
  Timer a(queue, [&] {
    fired.push_back(1);
    b.ArmAt(5);  // already past
  });
  a.ArmAt(10);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  EXPECT_EQ(queue.NextDeadline(), 5);
  EXPECT_EQ(queue.RunExpired(10), 1u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(TimerQueueTest, NextDeadlineTracksTheEarliestTimer) {
  TimerQueue queue;
  Recorder r(queue);
  r.Add(0).ArmAt(40);
  EXPECT_EQ(queue.NextDeadline(), 40);
  r.Add(1).ArmAt(20);
  EXPECT_EQ(queue.NextDeadline(), 20);
  r.Add(2).ArmAt(30);
  EXPECT_EQ(queue.NextDeadline(), 20);
  r.at(1).Cancel();
  EXPECT_EQ(queue.NextDeadline(), 30);
  EXPECT_EQ(queue.RunExpired(30), 1u);
  EXPECT_EQ(queue.NextDeadline(), 40);
  r.at(0).ArmAt(45);
  EXPECT_EQ(queue.NextDeadline(), 45);
  r.at(0).Cancel();
  EXPECT_TRUE(queue.empty());
}

// Reference model: (deadline -> id), equal keys kept in insertion order (as std::multimap
// guarantees), which is exactly the (deadline, arming sequence) order.
class Model {
 public:
  explicit Model(size_t n) : where_(n) {}
  void Arm(size_t id, MonoTime deadline) {
    Cancel(id);
    where_[id] = map_.emplace(deadline, id);
  }
  void Cancel(size_t id) {
    if (where_[id]) {
      map_.erase(*where_[id]);
      where_[id].reset();
    }
  }
  bool armed(size_t id) const { return where_[id].has_value(); }
  size_t size() const { return map_.size(); }
  MonoTime next() const { return map_.begin()->first; }
  // Removes and returns the ids due at `now`, in firing order.
  std::vector<size_t> TakeExpired(MonoTime now) {
    std::vector<size_t> due;
    while (!map_.empty() && map_.begin()->first <= now) {
      due.push_back(map_.begin()->second);
      where_[map_.begin()->second].reset();
      map_.erase(map_.begin());
    }
    return due;
  }

 private:
  std::multimap<MonoTime, size_t> map_;
  std::vector<std::optional<std::multimap<MonoTime, size_t>::iterator>> where_;
};

TEST(TimerQueueTest, RandomTimersMatchAMultimapModel) {
  constexpr size_t kTimers = 10'000;
  std::mt19937_64 rng(12345);
  TimerQueue queue;
  Model model(kTimers);
  std::vector<size_t> fired;
  std::vector<std::unique_ptr<Timer>> timers;
  timers.reserve(kTimers);
  for (size_t i = 0; i < kTimers; ++i) {
    timers.push_back(std::make_unique<Timer>(queue, [&fired, i] { fired.push_back(i); }));
  }

  MonoTime now = 0;
  std::uniform_int_distribution<size_t> pick(0, kTimers - 1);
  std::uniform_int_distribution<MonoTime> ahead(0, 2000);  // small range: many ties
  std::uniform_int_distribution<int> op(0, 99);
  for (int step = 0; step < 200; ++step) {
    // A burst of random operations, then time advances.
    for (int k = 0; k < 200; ++k) {
      const size_t id = pick(rng);
      const int o = op(rng);
      if (o < 70) {
        const MonoTime deadline = now + ahead(rng);
        timers[id]->ArmAt(deadline);
        model.Arm(id, deadline);
      } else if (o < 90) {
        timers[id]->Cancel();
        model.Cancel(id);
      } else {
        // Destroy and recreate: destruction must cancel.
        timers[id] = std::make_unique<Timer>(queue, [&fired, id] { fired.push_back(id); });
        model.Cancel(id);
      }
    }
    ASSERT_EQ(queue.size(), model.size()) << "step " << step;
    if (model.size() > 0) {
      ASSERT_EQ(queue.NextDeadline(), model.next()) << "step " << step;
    }
    now += std::uniform_int_distribution<MonoTime>(0, 40)(rng);
    fired.clear();
    const std::vector<size_t> expected = model.TakeExpired(now);
    ASSERT_EQ(queue.RunExpired(now), expected.size()) << "step " << step;
    ASSERT_EQ(fired, expected) << "step " << step;
    for (size_t id : expected) {
      ASSERT_FALSE(timers[id]->armed());
    }
  }
  // Drain everything still queued.
  fired.clear();
  const std::vector<size_t> rest = model.TakeExpired(INT64_MAX);
  EXPECT_EQ(queue.RunExpired(INT64_MAX), rest.size());
  EXPECT_EQ(fired, rest);
  EXPECT_TRUE(queue.empty());
}

// Callbacks that cancel or destroy other timers, possibly ones in the same batch.
TEST(TimerQueueTest, RandomCallbacksCancellingOthersMatchAModel) {
  constexpr size_t kTimers = 2'000;
  std::mt19937_64 rng(777);
  TimerQueue queue;
  Model model(kTimers);
  std::vector<size_t> fired;
  std::vector<std::unique_ptr<Timer>> timers(kTimers);
  std::vector<size_t> victim(kTimers);
  std::vector<bool> destroys(kTimers);
  std::uniform_int_distribution<size_t> pick(0, kTimers - 1);
  for (size_t i = 0; i < kTimers; ++i) {
    victim[i] = pick(rng);
    destroys[i] = (i % 3) == 0;
  }
  auto make = [&](size_t id) {
    return std::make_unique<Timer>(queue, [&, id] {
      fired.push_back(id);
      const size_t v = victim[id];
      if (v == id) {
        return;  // never destroy the running timer itself
      }
      if (destroys[id]) {
        timers[v] = nullptr;  // destroyed: cancels it
      } else if (timers[v] != nullptr) {
        timers[v]->Cancel();
      }
    });
  };
  for (size_t i = 0; i < kTimers; ++i) {
    timers[i] = make(i);
  }

  MonoTime now = 0;
  std::uniform_int_distribution<MonoTime> ahead(0, 500);
  for (int step = 0; step < 100; ++step) {
    for (int k = 0; k < 100; ++k) {
      const size_t id = pick(rng);
      if (timers[id] == nullptr) {
        timers[id] = make(id);
      }
      const MonoTime deadline = now + ahead(rng);
      timers[id]->ArmAt(deadline);
      model.Arm(id, deadline);
    }
    now += 25;
    // Expected: run the due ids in order; each one that still stands cancels its victim.
    std::vector<size_t> expected;
    std::vector<size_t> due = model.TakeExpired(now);
    std::vector<bool> withdrawn(kTimers, false);
    for (size_t id : due) {
      if (withdrawn[id]) {
        continue;
      }
      expected.push_back(id);
      const size_t v = victim[id];
      if (v != id) {
        withdrawn[v] = true;
        model.Cancel(v);
      }
    }
    fired.clear();
    ASSERT_EQ(queue.RunExpired(now), expected.size()) << "step " << step;
    ASSERT_EQ(fired, expected) << "step " << step;
    ASSERT_EQ(queue.size(), model.size()) << "step " << step;
  }
}

}  // namespace
}  // namespace proxynode
