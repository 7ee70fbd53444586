#pragma once

// Node-wide admission control shared by all workers: the connection count, the count of
// requests waiting on a delay, and a request-rate limiter (GCRA, a token bucket kept as one
// atomic "theoretical arrival time"). Each counter sits on its own cache line.
//
// Thread contract: every method is safe to call from any thread.

#include <atomic>
#include <cstdint>

#include "dataplane/core/clock.h"

namespace proxynode {

class Admission {
 public:
  // `connection_cap` bounds connections when the config says 0 ("as the fd limit allows").
  explicit Admission(uint32_t connection_cap) : connection_cap_(connection_cap) {}

  // max 0 means connection_cap. Returns false (and counts nothing) when the limit is reached.
  bool TryAcquireConnection(uint32_t max);
  void ReleaseConnection() { connections_.fetch_sub(1, std::memory_order_relaxed); }

  // max 0 means unlimited.
  bool TryAcquirePending(uint32_t max);
  void ReleasePending() { pending_.fetch_sub(1, std::memory_order_relaxed); }

  // Requests delayed or throttled by a fault rule (max_active_faults); max 0 means unlimited.
  bool TryAcquireFault(uint32_t max);
  void ReleaseFault() { active_faults_.fetch_sub(1, std::memory_order_relaxed); }

  // rate 0 means off. Allows a burst of one second's worth of requests.
  bool TryAcquireRate(uint32_t rate_per_second, MonoTime now);

  int64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  int64_t pending() const { return pending_.load(std::memory_order_relaxed); }
  int64_t active_faults() const { return active_faults_.load(std::memory_order_relaxed); }
  uint32_t connection_cap() const { return connection_cap_; }

 private:
  const uint32_t connection_cap_;
  alignas(64) std::atomic<int64_t> connections_{0};
  alignas(64) std::atomic<int64_t> pending_{0};
  alignas(64) std::atomic<MonoTime> rate_tat_{0};
  alignas(64) std::atomic<int64_t> active_faults_{0};
};

}  // namespace proxynode
