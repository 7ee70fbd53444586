#pragma once

// Monotonic time in nanoseconds. The event loop reads it once per iteration and hands the
// cached value around; tests drive timer code with explicit times instead of a real clock.

#include <cstdint>
#include <ctime>

namespace proxynode {

using MonoTime = int64_t;  // nanoseconds on CLOCK_MONOTONIC
using Nanos = int64_t;     // a duration in nanoseconds

constexpr Nanos kMicrosecond = 1000;
constexpr Nanos kMillisecond = 1000 * kMicrosecond;
constexpr Nanos kSecond = 1000 * kMillisecond;

inline MonoTime MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<MonoTime>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

// CLOCK_REALTIME in nanoseconds: only to convert the kernel's receive timestamps, which use it.
inline int64_t RealtimeNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

// A CLOCK_REALTIME instant (a kernel receive stamp) on the monotonic clock, given both clocks
// read now: `now` minus how long ago it was, clamped to [now - max_age, now] because a step of
// the realtime clock could put the stamp anywhere.
inline MonoTime MonotonicFromRealtime(int64_t realtime, int64_t realtime_now, MonoTime now,
                                      Nanos max_age) {
  Nanos ago = realtime_now - realtime;
  ago = ago < 0 ? 0 : (ago > max_age ? max_age : ago);
  return now - ago;
}

inline int64_t WallClockSeconds() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace proxynode
