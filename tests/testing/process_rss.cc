#include "tests/testing/process_rss.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

namespace proxynode::testing {

int64_t ResidentKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return -1;
}

int64_t PeakRss::Stop() {
  stop_ = true;
  if (sampler_.joinable()) sampler_.join();
  return peak_;
}

void PeakRss::Sample() {
  while (!stop_) {
    peak_ = std::max(peak_.load(), ResidentKib(pid_));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace proxynode::testing
