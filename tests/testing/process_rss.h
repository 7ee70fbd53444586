#pragma once

// The resident memory of a process (the node under test), read from /proc: a test bounds
// how much it grows while a large body streams through.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace proxynode::testing {

// VmRSS of process `pid` in KiB (-1 if unreadable).
int64_t ResidentKib(pid_t pid);

// The peak VmRSS of a process, sampled every 10 ms on its own thread while it lives.
class PeakRss {
 public:
  explicit PeakRss(pid_t pid) : pid_(pid), sampler_([this] { Sample(); }) {}
  ~PeakRss() { Stop(); }
  // Stops sampling; the peak seen, in KiB.
  int64_t Stop();

 private:
  void Sample();

  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread sampler_;  // last: starts once the members it reads exist
};

}  // namespace proxynode::testing
