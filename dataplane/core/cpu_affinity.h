#pragma once

// CPU-local serving (--cpu_local): each worker pinned to one CPU, and each connection served
// by the worker on the CPU where its packets arrive (the kernel's SO_INCOMING_CPU: on
// loopback, the CPU its client runs on). Client and server then take turns on one core with
// no cross-CPU wake-up and no cache line moving between cores per request.
//
// Thread contract: CpuWorkers is written under the data plane's worker lock and read by any
// worker thread (relaxed atomics: a stale answer only sends a connection to the least-loaded
// worker instead).

#include <atomic>
#include <vector>

namespace proxynode {

// The CPUs this process may run on (sched_getaffinity), in ascending order.
std::vector<int> AllowedCpus();
// Pins the calling thread to `cpu`; false if the kernel refused.
bool PinCurrentThreadTo(int cpu);
// The CPU that last processed a packet of socket `fd` (SO_INCOMING_CPU), -1 if unknown.
int IncomingCpu(int fd);

// How many running workers are pinned to each CPU.
class CpuWorkers {
 public:
  static constexpr int kMaxCpus = 1024;  // CPU_SETSIZE

  void Add(int cpu);
  void Remove(int cpu);
  bool Serves(int cpu) const;

 private:
  std::atomic<int> workers_[kMaxCpus] = {};
};

}  // namespace proxynode
