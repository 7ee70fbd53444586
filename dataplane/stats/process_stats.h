#pragma once

// The process's own figures, for Prometheus's standard process_* metrics (CPU time, memory,
// file descriptors, start time), read from /proc, getrusage and getrlimit.
//
// A read costs a few small /proc reads and a walk of /proc/self/fd, one entry per open file
// (about 10,000 at 10,000 connections): fine for /metrics, which the admin listener's own
// loop thread renders when scraped, never a worker.

#include <cstdint>
#include <optional>
#include <string_view>

namespace proxynode {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system, every thread
  uint64_t resident_memory_bytes = 0;
  uint64_t virtual_memory_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;           // RLIMIT_NOFILE's soft limit
  double start_time_seconds = 0;  // since the Unix epoch
};

ProcessStats ReadProcessStats();

// When the process started, in seconds since the Unix epoch, from the text of /proc/self/stat
// (its starttime, in clock ticks after boot) and of /proc/stat (its btime, the boot time);
// nullopt when either does not parse.
std::optional<double> ProcessStartTime(std::string_view self_stat, std::string_view proc_stat,
                                       long ticks_per_second);

// Virtual and resident memory in bytes from the text of /proc/self/statm (in pages).
struct ProcessMemory {
  uint64_t virtual_bytes = 0;
  uint64_t resident_bytes = 0;
};
std::optional<ProcessMemory> ParseStatm(std::string_view statm, uint64_t page_size);

}  // namespace proxynode
