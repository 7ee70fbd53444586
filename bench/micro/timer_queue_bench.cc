// Google Benchmark micro-benchmarks for TimerQueue and Timer (dataplane/core/timer_queue.h).
//
// The cases follow what the node does with its timers (dataplane/server/connection.cc): each
// connection owns an idle-timeout timer and a delay timer; a delayed request arms the delay
// timer at now + delay, which is earlier than every idle timeout in the heap; the loop's
// cached `now` gives every request parsed in one iteration the same deadline.
//
// Counter: items_per_second (timer operations, or "requests" for the steady-state case).
// Run with bench/micro.sh, or build-micro/bench/micro/timer_queue_bench --help.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"

namespace proxynode {
namespace {

constexpr Nanos kIdleTimeout = 60 * kSecond;
constexpr Nanos kDelay = 100 * kMillisecond;

// `count` idle timers that count their firings in `*fired`.
std::vector<std::unique_ptr<Timer>> MakeTimers(TimerQueue& queue, size_t count, uint64_t* fired) {
  std::vector<std::unique_ptr<Timer>> timers;
  timers.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    timers.push_back(std::make_unique<Timer>(queue, [fired] { ++*fired; }));
  }
  return timers;
}

// Arms `timers` as the idle timeouts of connections last active within the past 10 s.
void ArmIdleTimeouts(std::vector<std::unique_ptr<Timer>>& timers, MonoTime now) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<Nanos> since(0, 10 * kSecond);
  for (auto& timer : timers) {
    timer->ArmAt(now - since(random) + kIdleTimeout);
  }
}

// A delay timer armed and cancelled again (the connection closed before its response was
// due), beside range(0) idle timers: the new deadline is the earliest, so it climbs to the
// root and cancelling it sifts the last leaf down from there.
void BM_TimerArmCancel(benchmark::State& state) {
  TimerQueue queue;
  uint64_t fired = 0;
  const MonoTime now = 1000 * kSecond;
  auto idle = MakeTimers(queue, static_cast<size_t>(state.range(0)), &fired);
  ArmIdleTimeouts(idle, now);
  Timer delay(queue, [&fired] { ++fired; });
  for (auto _ : state) {
    delay.ArmAt(now + kDelay);
    delay.Cancel();
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerArmCancel)->Arg(0)->Arg(10'000);

// ArmAt on a timer that is already queued, to a later deadline: range(0) connections with an
// idle timeout each take requests round-robin, and each request pushes its connection's
// timeout to now + 60 s. The timer moved is always the one with the earliest deadline (the
// root), and it becomes the latest.
void BM_TimerRearmLater(benchmark::State& state) {
  TimerQueue queue;
  uint64_t fired = 0;
  const size_t count = static_cast<size_t>(state.range(0));
  auto timers = MakeTimers(queue, count, &fired);
  MonoTime now = 1000 * kSecond;
  const Nanos step = kSecond / 100'000;  // 100,000 requests a second
  for (size_t i = 0; i < count; ++i) {
    timers[i]->ArmAt(now + kIdleTimeout + static_cast<Nanos>(i) * step);
  }
  size_t next = 0;
  for (auto _ : state) {
    now += step;
    timers[next]->ArmAt(now + static_cast<Nanos>(count) * step + kIdleTimeout);
    if (++next == count) {
      next = 0;
    }
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerRearmLater)->Arg(1)->Arg(10'000);

// Arms range(0) timers at distinct deadlines in a random order, then one RunExpired fires
// them all. Items: timers armed and fired.
void BM_TimerArmThenRunAll(benchmark::State& state) {
  TimerQueue queue;
  uint64_t fired = 0;
  const size_t count = static_cast<size_t>(state.range(0));
  auto timers = MakeTimers(queue, count, &fired);
  std::vector<MonoTime> deadlines(count);
  std::mt19937_64 random(42);
  std::uniform_int_distribution<MonoTime> deadline(1, kIdleTimeout);
  for (MonoTime& d : deadlines) {
    d = deadline(random);
  }
  for (auto _ : state) {
    for (size_t i = 0; i < count; ++i) {
      timers[i]->ArmAt(deadlines[i]);
    }
    const size_t n = queue.RunExpired(kIdleTimeout);
    if (n != count) {
      state.SkipWithError("RunExpired fired the wrong number of timers");
      break;
    }
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TimerArmThenRunAll)->Arg(1'000)->Arg(10'000)->Arg(100'000);

// range(0) timers over only range(1) distinct deadlines, armed then fired by one RunExpired:
// a loop iteration that parses a batch of requests gives all of them the same deadline
// (its cached now + delay), so ties are broken by arming order. Batches are armed in order,
// as the loop does.
void BM_TimerEqualDeadlines(benchmark::State& state) {
  TimerQueue queue;
  uint64_t fired = 0;
  const size_t count = static_cast<size_t>(state.range(0));
  const size_t distinct = static_cast<size_t>(state.range(1));
  auto timers = MakeTimers(queue, count, &fired);
  for (auto _ : state) {
    for (size_t i = 0; i < count; ++i) {
      timers[i]->ArmAt(kDelay + static_cast<MonoTime>(i * distinct / count));
    }
    const size_t n = queue.RunExpired(kDelay + static_cast<MonoTime>(distinct));
    if (n != count) {
      state.SkipWithError("RunExpired fired the wrong number of timers");
      break;
    }
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TimerEqualDeadlines)->Args({10'000, 1})->Args({10'000, 100})->Args({10'000, 10'000});

// The node's 10,000-connection case at steady state: range(0) delay timers armed over one
// delay period; each iteration (one request) advances the loop's time so that exactly one
// delay timer expires, and its callback arms it again at now + delay, as the connection's
// next request would. range(1) idle timeouts share the heap (each connection has one; they
// are all later than every delay); when one expires it is pushed back by the idle timeout,
// as OnTimeoutTimer does for a connection that has been busy. Items: requests.
void BM_TimerSteadyState(benchmark::State& state) {
  TimerQueue queue;
  const size_t count = static_cast<size_t>(state.range(0));
  const Nanos step = kDelay / static_cast<Nanos>(count);
  MonoTime now = 1000 * kSecond;
  uint64_t fired = 0;
  std::vector<std::unique_ptr<Timer>> idle;
  idle.reserve(static_cast<size_t>(state.range(1)));
  for (size_t i = 0; i < static_cast<size_t>(state.range(1)); ++i) {
    idle.push_back(
        std::make_unique<Timer>(queue, [&idle, &now, i] { idle[i]->ArmAt(now + kIdleTimeout); }));
  }
  ArmIdleTimeouts(idle, now);
  std::vector<std::unique_ptr<Timer>> timers;
  timers.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    timers.push_back(std::make_unique<Timer>(queue, [&timers, &now, &fired, i] {
      ++fired;
      timers[i]->ArmAt(now + kDelay);
    }));
  }
  for (size_t i = 0; i < count; ++i) {
    timers[i]->ArmAt(now + static_cast<Nanos>(i + 1) * step);
  }
  for (auto _ : state) {
    now += step;
    if (queue.RunExpired(now) == 0) {
      state.SkipWithError("no timer expired");
      break;
    }
  }
  benchmark::DoNotOptimize(fired);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerSteadyState)->Args({10'000, 0})->Args({10'000, 10'000});

}  // namespace
}  // namespace proxynode
