#include "dataplane/server/admission.h"

#include <algorithm>

namespace proxynode {

bool Admission::TryAcquireConnection(uint32_t max) {
  int64_t limit = max == 0 ? connection_cap_ : max;
  if (connections_.fetch_add(1, std::memory_order_relaxed) >= limit) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

namespace {

// One slot of `count` under `max` (0: unlimited).
bool TryAcquireSlot(std::atomic<int64_t>& count, uint32_t max) {
  if (max == 0) {
    count.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (count.fetch_add(1, std::memory_order_relaxed) >= max) {
    count.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

}  // namespace

bool Admission::TryAcquirePending(uint32_t max) { return TryAcquireSlot(pending_, max); }

bool Admission::TryAcquireFault(uint32_t max) { return TryAcquireSlot(active_faults_, max); }

bool Admission::TryAcquireRate(uint32_t rate_per_second, MonoTime now) {
  if (rate_per_second == 0) {
    return true;
  }
  const Nanos interval = kSecond / rate_per_second;
  const Nanos burst = kSecond - interval;  // `rate` requests may arrive at once
  MonoTime tat = rate_tat_.load(std::memory_order_relaxed);
  while (true) {
    MonoTime start = std::max(tat, now);
    if (start - now > burst) {
      return false;
    }
    if (rate_tat_.compare_exchange_weak(tat, start + interval, std::memory_order_relaxed)) {
      return true;
    }
  }
}

}  // namespace proxynode
