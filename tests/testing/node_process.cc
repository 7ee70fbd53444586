#include "tests/testing/node_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#ifndef PROXYNODE_BINARY
#error \
    "PROXYNODE_BINARY must name the proxynode executable (set by tests/integration/CMakeLists.txt)"
#endif

extern char** environ;

namespace proxynode::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kStartTimeout{10};

// The port of `"key":"127.0.0.1:PORT"` in the start-up record; 0 if absent.
uint16_t PortOf(std::string_view line, std::string_view key) {
  // Appended, not "\"" + text: GCC 12 at -O3 fails on that (-Wrestrict, GCC bug 105329).
  const std::string quoted_key = std::string("\"").append(key).append("\":\"");
  size_t at = line.find(quoted_key);
  if (at == std::string_view::npos) return 0;
  std::string_view address = line.substr(at + quoted_key.size());
  address = address.substr(0, address.find('"'));
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return 0;
  std::string_view digits = address.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return ec == std::errc() && end == digits.data() + digits.size() ? port : 0;
}

constexpr std::string_view kStartupMessage = "\"message\":\"proxynode listening\"";

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int status) {
  ExitStatus result;
  result.exited = WIFEXITED(status);
  result.code = result.exited ? WEXITSTATUS(status) : 0;
  result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return result;
}

std::string ExitStatus::ToString() const {
  return exited ? "exit " + std::to_string(code) : "signal " + std::to_string(signal);
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // The node is gone, so its stdout reaches end of file and the reader returns.
  if (output_reader_.joinable()) output_reader_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

::testing::AssertionResult NodeProcess::Start(const std::vector<std::string>& flags) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "already started";
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ::testing::AssertionFailure() << "pipe2: " << std::strerror(errno);
  }
  std::vector<std::string> args = {PROXYNODE_BINARY, "--http_listen=127.0.0.1:0",
                                   "--admin_listen=127.0.0.1:0", "--control_listen=127.0.0.1:0"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child's stdout is the pipe; stderr stays the test's, so node logs show on failure.
  // fork+exec rather than posix_spawn: the child asks the kernel to kill it when the test
  // process dies, so a crashed test never leaves a node holding ctest's output pipes open.
  // Between fork and exec only async-signal-safe calls are made.
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127);  // the test died before prctl took effect
    }
    dup2(pipe_fds[1], STDOUT_FILENO);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  const int spawn_errno = errno;
  close(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];
  if (pid_ < 0) {
    pid_ = -1;
    return ::testing::AssertionFailure() << "fork: " << std::strerror(spawn_errno);
  }

  // Read up to the start-up record, byte by byte so nothing after it is consumed; earlier
  // log records are kept with the rest of the output.
  const auto deadline = Clock::now() + kStartTimeout;
  std::string line;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int n = poll(&pfd, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return ::testing::AssertionFailure()
             << "no start-up line within 10 s; got \"" << line << "\"";
    }
    char c;
    ssize_t got = read(stdout_fd_, &c, 1);
    if (got == 1) {
      line.push_back(c);
      if (c != '\n') continue;
      AppendOutput(line);
      if (line.find(kStartupMessage) != std::string::npos) break;
      line.clear();
    } else if (got == 0) {
      std::optional<ExitStatus> exit = WaitExit(std::chrono::seconds(2));
      return ::testing::AssertionFailure()
             << "node closed stdout before its start-up line (" << line << "); "
             << (exit ? exit->ToString() : "still running");
    } else if (errno != EINTR) {
      return ::testing::AssertionFailure() << "read stdout: " << std::strerror(errno);
    }
  }
  line.pop_back();
  banner_ = line;
  http_port_ = PortOf(line, "http");
  admin_port_ = PortOf(line, "admin");
  control_port_ = PortOf(line, "control");
  if (http_port_ == 0 || admin_port_ == 0 || control_port_ == 0) {
    return ::testing::AssertionFailure() << "unexpected start-up line: " << line;
  }
  // The node logs on: keep reading, or a full pipe would block it.
  output_reader_ = std::thread([this] { ReadOutput(); });
  return ::testing::AssertionSuccess();
}

void NodeProcess::AppendOutput(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);  // in the test's log, for failures
  std::lock_guard<std::mutex> lock(output_mutex_);
  output_.append(text);
}

void NodeProcess::ReadOutput() {
  char buffer[4096];
  while (true) {
    ssize_t got = read(stdout_fd_, buffer, sizeof(buffer));
    if (got > 0) {
      AppendOutput(std::string_view(buffer, static_cast<size_t>(got)));
    } else if (got == 0 || errno != EINTR) {
      return;  // the node closed stdout (it exited)
    }
  }
}

std::string NodeProcess::Output() const {
  std::lock_guard<std::mutex> lock(output_mutex_);
  return output_;
}

bool NodeProcess::WaitForOutput(std::string_view text, std::chrono::milliseconds timeout) const {
  return WaitUntil([&] { return Output().find(text) != std::string::npos; }, timeout);
}

bool NodeProcess::Signal(int signo) { return pid_ > 0 && kill(pid_, signo) == 0; }

std::optional<ExitStatus> NodeProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  // waitpid has no timeout: poll it with WNOHANG (the node exiting is what we wait for).
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return ExitStatus::FromWaitStatus(status);
    }
    if (done < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::optional<HttpResponse> NodeProcess::AdminGet(std::string_view path) {
  HttpClient client;
  ::testing::AssertionResult connected = client.Connect(admin_port_);
  if (!connected) {
    ADD_FAILURE() << "admin: " << connected.message();
    return std::nullopt;
  }
  ::testing::AssertionResult sent = client.Send(GetRequest(path, "Connection: close\r\n"));
  if (!sent) {
    ADD_FAILURE() << "admin: " << sent.message();
    return std::nullopt;
  }
  std::optional<HttpResponse> response = client.ReadResponse();
  if (!response) ADD_FAILURE() << "admin GET " << path << ": " << client.error();
  return response;
}

double NodeProcess::MetricSum(std::string_view name, std::string_view label_filter) {
  std::optional<HttpResponse> response = AdminGet("/metrics");
  if (!response || response->status != 200) {
    ADD_FAILURE() << "GET /metrics failed";
    return -1;
  }
  return SumMetric(response->body, name, label_filter);
}

double SumMetric(std::string_view metrics_text, std::string_view name,
                 std::string_view label_filter) {
  double sum = 0;
  while (!metrics_text.empty()) {
    size_t eol = metrics_text.find('\n');
    std::string_view line = metrics_text.substr(0, eol);
    metrics_text.remove_prefix(eol == std::string_view::npos ? metrics_text.size() : eol + 1);
    if (line.empty() || line.front() == '#') continue;
    // "name{labels} value" or "name value".
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    std::string_view series = line.substr(0, space);
    std::string_view series_name = series.substr(0, series.find('{'));
    if (series_name != name) continue;
    if (!label_filter.empty() && series.find(label_filter) == std::string_view::npos) continue;
    sum += std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace proxynode::testing
