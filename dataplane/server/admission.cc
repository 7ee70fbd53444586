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

bool Admission::TryAcquirePending(uint32_t max) {
  if (max == 0) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

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
