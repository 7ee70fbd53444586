#pragma once

// Runs the real proxynode binary as a child process for integration tests. The node binds
// 127.0.0.1 port 0 for all three listeners (http, admin, control) and announces the ports in its
// start-up log record, which Start() waits for, so tests never guess ports and never race the
// bind. Its log (JSON lines on stdout) is read on by a thread, kept for tests (Output,
// WaitForOutput) and copied to the test's stderr.
//
// Thread contract: use from one thread (the test body).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace proxynode::testing {

// How a child process ended.
struct ExitStatus {
  bool exited = false;  // exited normally (else killed by `signal`)
  int code = 0;
  int signal = 0;
  static ExitStatus FromWaitStatus(int status);
  // "exit 0", "exit 3" or "signal 9": readable in assertion messages.
  std::string ToString() const;
};

class NodeProcess {
 public:
  NodeProcess() = default;
  // Kills (SIGKILL) and reaps the node if it is still running.
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts the node with both listeners on 127.0.0.1:0 plus `flags` (e.g. "--delay=50ms")
  // and waits up to 10 s for its start-up line.
  ::testing::AssertionResult Start(const std::vector<std::string>& flags);

  uint16_t http_port() const { return http_port_; }
  uint16_t admin_port() const { return admin_port_; }
  uint16_t control_port() const { return control_port_; }
  // The start-up log record.
  const std::string& banner() const { return banner_; }
  // Everything the node wrote to stdout so far (its log).
  std::string Output() const;
  // Waits up to `timeout` for `text` to appear in the output.
  bool WaitForOutput(std::string_view text, std::chrono::milliseconds timeout) const;
  pid_t pid() const { return pid_; }

  // Sends `signo` to the node; false if it is not running.
  bool Signal(int signo);
  // Waits up to `timeout` for the node to exit and reaps it; nullopt if it is still running.
  std::optional<ExitStatus> WaitExit(std::chrono::milliseconds timeout);

  // GET `path` from the admin listener on a fresh connection (nullopt and a test failure if
  // it cannot be fetched).
  std::optional<HttpResponse> AdminGet(std::string_view path);
  // Fetches /metrics and sums the samples of `name` whose labels contain `label_filter`
  // (e.g. R"(reason="rate_limited")"); -1 (and a test failure) if /metrics is unreachable.
  double MetricSum(std::string_view name, std::string_view label_filter = "");

 private:
  void AppendOutput(std::string_view text);
  void ReadOutput();  // the reader thread

  pid_t pid_ = -1;  // -1 once reaped
  int stdout_fd_ = -1;
  std::thread output_reader_;
  mutable std::mutex output_mutex_;
  std::string output_;  // guarded by output_mutex_
  uint16_t http_port_ = 0;
  uint16_t admin_port_ = 0;
  uint16_t control_port_ = 0;
  std::string banner_;
};

// Sums the samples named exactly `name` in Prometheus text whose label set contains
// `label_filter` as a substring (empty: every sample of `name`).
double SumMetric(std::string_view metrics_text, std::string_view name,
                 std::string_view label_filter = "");

// Calls `condition` every `interval` until it returns true (then true) or `timeout` passes
// (then false). For observable state that changes asynchronously, e.g. a gauge settling.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace proxynode::testing
