#pragma once

// A byte rate that threads share: every relay, on every worker, that a shared bandwidth toxic
// hits draws from one of these, so the proxy's connections together get the rate, however
// they are spread over workers. Lock-free: GCRA over bytes on one atomic, the time at which
// every byte granted so far is paid for at the rate. A grant may run ahead of the clock by
// one burst (1/50 s of bytes, at least 256), as BytePacer's bucket holds; it starts empty,
// so N bytes take N / rate.
//
// Thread contract: any thread. The rate is fixed; another rate is another pacer.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "dataplane/core/clock.h"

namespace proxynode {

class SharedBytePacer {
 public:
  SharedBytePacer(uint64_t bytes_per_second, MonoTime now)
      : rate_(std::max<uint64_t>(bytes_per_second, 1)),
        nanos_per_byte_(1e9 / static_cast<double>(rate_)),
        burst_(static_cast<Nanos>(std::max(static_cast<double>(rate_) / 50.0,
                                           std::min(static_cast<double>(rate_), 256.0)) *
                                  nanos_per_byte_)),
        paid_until_(now + burst_) {}
  SharedBytePacer(const SharedBytePacer&) = delete;
  SharedBytePacer& operator=(const SharedBytePacer&) = delete;

  uint64_t rate() const { return rate_; }

  // Takes up to `wanted` bytes at `now`: how many may leave (0: none yet, see ReadyAt).
  size_t Take(size_t wanted, MonoTime now) {
    MonoTime paid = paid_until_.load(std::memory_order_relaxed);
    while (true) {
      const MonoTime from = std::max(paid, now);
      const Nanos room = now + burst_ - from;
      if (room <= 0) return 0;
      const auto fits = static_cast<size_t>(static_cast<double>(room) / nanos_per_byte_);
      const size_t granted = std::min(wanted, fits);
      if (granted == 0) return 0;
      const MonoTime next = from + Cost(granted);
      if (paid_until_.compare_exchange_weak(paid, next, std::memory_order_relaxed)) {
        return granted;
      }
    }
  }

  // Bytes taken and not written (the socket was full) go back to the others.
  void GiveBack(size_t bytes) {
    if (bytes > 0) paid_until_.fetch_sub(Cost(bytes), std::memory_order_relaxed);
  }

  // When `bytes` (at most a burst's worth) may be taken, as of now.
  MonoTime ReadyAt(size_t bytes) const {
    const Nanos cost = std::min(Cost(bytes), burst_);
    return paid_until_.load(std::memory_order_relaxed) - burst_ + cost + 1;
  }

 private:
  Nanos Cost(size_t bytes) const {
    return static_cast<Nanos>(std::ceil(static_cast<double>(bytes) * nanos_per_byte_));
  }

  const uint64_t rate_;
  const double nanos_per_byte_;
  const Nanos burst_;  // how far grants may run ahead of the clock
  std::atomic<MonoTime> paid_until_;
};

}  // namespace proxynode
