#pragma once

// Paces bytes at a set rate with timers, never a sleeping thread: a token bucket that fills
// at `bytes_per_second`, holds at most a burst of 1/50 s of bytes (so output leaves in
// steady small steps), and starts empty (so a response of N bytes takes N / rate).
//
// Thread contract: loop thread only. One pacer may be shared by every connection of a
// worker that a fault rule throttles together.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "dataplane/core/clock.h"

namespace proxynode {

class BytePacer {
 public:
  // Starts (or restarts) pacing at `bytes_per_second` (> 0) from `now`, empty.
  void Start(uint64_t bytes_per_second, MonoTime now) {
    rate_ = bytes_per_second;
    const auto rate = static_cast<double>(rate_);
    burst_ = std::max(rate / 50.0, std::min(rate, 256.0));
    tokens_ = 0;
    last_ = now;
  }
  bool active() const { return rate_ != 0; }
  uint64_t rate() const { return rate_; }

  // Bytes that may leave at `now`.
  size_t Allowance(MonoTime now) {
    Refill(now);
    return static_cast<size_t>(tokens_);
  }
  void Spend(size_t bytes) { tokens_ -= static_cast<double>(bytes); }

  // When `bytes` (capped at one burst) may leave.
  MonoTime ReadyAt(size_t bytes) const {
    const double wanted = std::min<double>(static_cast<double>(bytes), burst_);
    if (tokens_ >= wanted) return last_;
    const double seconds = (wanted - tokens_) / static_cast<double>(rate_);
    return last_ + static_cast<Nanos>(seconds * 1e9) + 1;
  }

 private:
  void Refill(MonoTime now) {
    if (now > last_) {
      tokens_ = std::min(
          burst_, tokens_ + static_cast<double>(now - last_) * static_cast<double>(rate_) / 1e9);
      last_ = now;
    }
  }

  uint64_t rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  MonoTime last_ = 0;
};

}  // namespace proxynode
