#include "dataplane/stats/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <string>

namespace proxynode {
namespace {

// The whole of a small /proc file; empty when it cannot be read.
std::string ReadProcFile(const char* path) {
  std::string text;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return text;
  }
  char chunk[4096];
  constexpr size_t kMaxBytes = 1 << 20;  // /proc/stat grows with the CPUs and interrupts
  while (text.size() < kMaxBytes) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      break;
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

// The next space-separated field of `text`, consumed.
std::string_view TakeField(std::string_view& text) {
  const size_t start = text.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    text = {};
    return {};
  }
  text.remove_prefix(start);
  const size_t end = text.find_first_of(" \n");
  std::string_view field = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return field;
}

std::optional<uint64_t> ToNumber(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

uint64_t OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return 0;
  }
  const std::string own = std::to_string(dirfd(dir));
  uint64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own) {
      ++count;
    }
  }
  closedir(dir);
  return count;
}

}  // namespace

std::optional<double> ProcessStartTime(std::string_view self_stat, std::string_view proc_stat,
                                       long ticks_per_second) {
  // The command name, in parentheses, may hold spaces: the fields count from its end.
  const size_t name_end = self_stat.rfind(')');
  if (name_end == std::string_view::npos || ticks_per_second <= 0) {
    return std::nullopt;
  }
  std::string_view fields = self_stat.substr(name_end + 1);
  std::string_view starttime;
  for (int field = 3; field <= 22; ++field) {  // starttime is field 22; state is 3
    starttime = TakeField(fields);
  }
  const std::optional<uint64_t> ticks = ToNumber(starttime);

  std::optional<uint64_t> boot;
  for (std::string_view rest = proc_stat; !rest.empty();) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    if (line.starts_with("btime ")) {
      line.remove_prefix(6);
      boot = ToNumber(TakeField(line));
      break;
    }
  }
  if (!ticks || !boot) {
    return std::nullopt;
  }
  return static_cast<double>(*boot) +
         static_cast<double>(*ticks) / static_cast<double>(ticks_per_second);
}

std::optional<ProcessMemory> ParseStatm(std::string_view statm, uint64_t page_size) {
  const std::optional<uint64_t> size = ToNumber(TakeField(statm));
  const std::optional<uint64_t> resident = ToNumber(TakeField(statm));
  if (!size || !resident) {
    return std::nullopt;
  }
  return ProcessMemory{.virtual_bytes = *size * page_size, .resident_bytes = *resident * page_size};
}

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    stats.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  const auto page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (std::optional<ProcessMemory> memory =
          ParseStatm(ReadProcFile("/proc/self/statm"), page_size)) {
    stats.virtual_memory_bytes = memory->virtual_bytes;
    stats.resident_memory_bytes = memory->resident_bytes;
  }
  stats.open_fds = OpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = static_cast<uint64_t>(limit.rlim_cur);
  }
  // It never changes: read once.
  static const double start_time =
      ProcessStartTime(ReadProcFile("/proc/self/stat"), ReadProcFile("/proc/stat"),
                       sysconf(_SC_CLK_TCK))
          .value_or(0);
  stats.start_time_seconds = start_time;
  return stats;
}

}  // namespace proxynode
