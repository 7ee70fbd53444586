#include "dataplane/core/cpu_affinity.h"

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

namespace proxynode {

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return cpus;
  }
  for (size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      cpus.push_back(static_cast<int>(cpu));
    }
  }
  return cpus;
}

bool PinCurrentThreadTo(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    return false;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

int IncomingCpu(int fd) {
  int cpu = -1;
  socklen_t length = sizeof(cpu);
  if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &length) != 0) {
    return -1;
  }
  return cpu;
}

void CpuWorkers::Add(int cpu) {
  if (cpu >= 0 && cpu < kMaxCpus) {
    workers_[cpu].fetch_add(1, std::memory_order_relaxed);
  }
}

void CpuWorkers::Remove(int cpu) {
  if (cpu >= 0 && cpu < kMaxCpus) {
    workers_[cpu].fetch_sub(1, std::memory_order_relaxed);
  }
}

bool CpuWorkers::Serves(int cpu) const {
  return cpu >= 0 && cpu < kMaxCpus && workers_[cpu].load(std::memory_order_relaxed) > 0;
}

}  // namespace proxynode
