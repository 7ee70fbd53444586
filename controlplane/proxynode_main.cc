// proxynode: the node's entry point. Builds the start-up configuration from a config file and
// flags, starts the data plane and the gRPC control plane, prints the bound addresses on one
// line, and drains on SIGTERM/SIGINT or a Drain call.

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controlplane/config_translator.h"
#include "controlplane/control_server.h"
#include "controlplane/control_service.h"
#include "dataplane/clock.h"
#include "dataplane/config_snapshot.h"
#include "dataplane/dataplane.h"

ABSL_FLAG(std::string, http_listen, "0.0.0.0:8080",
          "HTTP data-plane address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9901",
          "Admin address for /healthz /readyz /metrics");
ABSL_FLAG(absl::Duration, delay, absl::Milliseconds(100),
          "Delay before each response (e.g. 100ms, 0s)");
ABSL_FLAG(uint32_t, workers, 0, "Worker threads (0 = number of cores)");
ABSL_FLAG(uint32_t, max_connections, 0,
          "Node-wide connection limit; over it clients get 503 (0 = as the fd limit allows)");
ABSL_FLAG(uint32_t, max_pending, 0,
          "Requests waiting on their delay, node-wide; over it 503 (0 = unlimited)");
ABSL_FLAG(uint32_t, rate_limit, 0, "Requests per second, node-wide; over it 429 (0 = off)");
ABSL_FLAG(absl::Duration, header_timeout, absl::Seconds(10),
          "Time to receive a request head; then 408 and close");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(60),
          "Idle keep-alive connections close after this");
ABSL_FLAG(uint32_t, max_header_bytes, 8192, "Largest request head; over it 431 and close");
ABSL_FLAG(uint64_t, max_body_bytes, 1 << 20, "Largest request body; over it 413 and close");
ABSL_FLAG(uint32_t, max_requests_per_connection, 0,
          "Requests per connection; the last response carries Connection: close (0 = unlimited)");
ABSL_FLAG(std::string, body, "Hello World\n", "Response body");
ABSL_FLAG(std::string, control_listen, "127.0.0.1:9090",
          "gRPC control-plane address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, config, "",
          "Start-up config file: NodeConfig in protobuf text format or JSON; flags given on the "
          "command line override it");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(25),
          "On SIGTERM, how long in-flight requests may take before connections are closed");

namespace proxynode {
namespace {

bool OnCommandLine(const char* flag) {
  // Abseil 20220623 (Debian 12) exposes this only in its internal header; it is exactly
  // "the user gave this flag", which a comparison with the default cannot tell.
  return absl::flags_internal::WasPresentOnCommandLine(flag);
}

// The start-up config: defaults, then the config file, then the flags given on the command
// line (a flag left at its default does not override the file).
absl::StatusOr<NodeConfig> StartupConfig() {
  NodeConfig config;
  config.workers = std::max(1u, std::thread::hardware_concurrency());
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    std::ifstream file(path);
    if (!file) {
      return absl::InvalidArgumentError(absl::StrCat("--config ", path, ": cannot read it"));
    }
    std::stringstream text;
    text << file.rdbuf();
    absl::StatusOr<v1::NodeConfig> parsed = ParseConfigText(text.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--config ", path, ": ", parsed.status().message()));
    }
    absl::StatusOr<NodeConfig> merged = MergePresentFields(config, *parsed);
    if (!merged.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--config ", path, ": ", merged.status().message()));
    }
    config = *merged;
  }
  auto duration = [](absl::Duration d) { return absl::ToInt64Nanoseconds(d); };
  if (OnCommandLine("delay")) config.delay = duration(absl::GetFlag(FLAGS_delay));
  if (OnCommandLine("body")) config.body = absl::GetFlag(FLAGS_body);
  if (OnCommandLine("workers") && absl::GetFlag(FLAGS_workers) != 0) {
    config.workers = absl::GetFlag(FLAGS_workers);
  }
  if (OnCommandLine("max_connections"))
    config.max_connections = absl::GetFlag(FLAGS_max_connections);
  if (OnCommandLine("max_pending")) config.max_pending = absl::GetFlag(FLAGS_max_pending);
  if (OnCommandLine("rate_limit")) config.rate_limit = absl::GetFlag(FLAGS_rate_limit);
  if (OnCommandLine("header_timeout"))
    config.header_timeout = duration(absl::GetFlag(FLAGS_header_timeout));
  if (OnCommandLine("idle_timeout"))
    config.idle_timeout = duration(absl::GetFlag(FLAGS_idle_timeout));
  if (OnCommandLine("max_header_bytes"))
    config.max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  if (OnCommandLine("max_body_bytes")) config.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  if (OnCommandLine("max_requests_per_connection")) {
    config.max_requests_per_connection = absl::GetFlag(FLAGS_max_requests_per_connection);
  }
  config.version = 1;
  if (absl::Status status = ValidateConfig(config); !status.ok()) {
    return status;
  }
  return config;
}

// Blocks the shutdown signals in every thread (threads inherit the mask) and returns a
// signalfd the main thread reads them from.
int BlockSignalsIntoFd() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  return signalfd(-1, &mask, SFD_CLOEXEC);
}

// Waits up to `timeout` for a signal; returns its number or 0.
int WaitForSignal(int signal_fd, int timeout_ms) {
  pollfd pfd{signal_fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) {
    return 0;
  }
  signalfd_siginfo info{};
  if (read(signal_fd, &info, sizeof(info)) != sizeof(info)) {
    return 0;
  }
  return static_cast<int>(info.ssi_signo);
}

int Run() {
  int signal_fd = BlockSignalsIntoFd();
  absl::StatusOr<NodeConfig> config = StartupConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "proxynode: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  DataplaneOptions options;
  options.config = *config;
  for (auto [flag, address] : {std::pair{"--http_listen", &options.http_address},
                               std::pair{"--admin_listen", &options.admin_address}}) {
    std::string text = flag == std::string("--http_listen") ? absl::GetFlag(FLAGS_http_listen)
                                                            : absl::GetFlag(FLAGS_admin_listen);
    absl::StatusOr<SocketAddress> parsed = ParseSocketAddress(text);
    if (!parsed.ok()) {
      std::fprintf(stderr, "proxynode: %s: %s\n", flag,
                   std::string(parsed.status().message()).c_str());
      return 2;
    }
    *address = *parsed;
  }
  absl::StatusOr<std::unique_ptr<Dataplane>> created = Dataplane::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "proxynode: %s\n", std::string(created.status().message()).c_str());
    return created.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  Dataplane& dataplane = **created;
  std::atomic<bool> drain_requested{false};
  // The drain begins inside the Drain call (BeginDrain is thread-safe), so a request that
  // completes after Drain returned already carries Connection: close; the main loop then
  // notices the flag and runs the rest of the shutdown.
  ControlService service(dataplane, [&dataplane, &drain_requested] {
    dataplane.BeginDrain();
    drain_requested.store(true);
  });
  absl::StatusOr<std::unique_ptr<ControlServer>> control =
      ControlServer::Start(absl::GetFlag(FLAGS_control_listen), service);
  if (!control.ok()) {
    std::fprintf(stderr, "proxynode: %s\n", std::string(control.status().message()).c_str());
    return 1;
  }
  dataplane.Start();
  const ConfigSnapshotPtr running = dataplane.config();
  // One line, first on stdout, so scripts and tests can find the ports chosen for port 0.
  std::printf(
      "proxynode listening http=%s admin=%s control=%s workers=%u delay=%s max_connections=%u "
      "fd_limit=%llu/%llu\n",
      dataplane.http_address().ToString().c_str(), dataplane.admin_address().ToString().c_str(),
      (*control)->address().c_str(), running->workers, FormatDuration(running->delay).c_str(),
      running->max_connections != 0 ? running->max_connections : dataplane.connection_cap(),
      static_cast<unsigned long long>(dataplane.fd_limits().soft),
      static_cast<unsigned long long>(dataplane.fd_limits().hard));
  std::fflush(stdout);

  // Housekeeping every 100 ms: join retired workers, notice a Drain call.
  int signo = 0;
  while (signo == 0 && !drain_requested.load()) {
    signo = WaitForSignal(signal_fd, 100);
    dataplane.ReapRetiredWorkers();
  }
  std::fprintf(stderr, "proxynode: %s: draining (up to %s)\n",
               signo != 0 ? absl::StrCat("signal ", signo).c_str() : "Drain call",
               absl::FormatDuration(absl::GetFlag(FLAGS_drain_timeout)).c_str());
  (*control)->SetServing(false);
  if (!dataplane.draining()) {
    dataplane.BeginDrain();
  }
  const MonoTime deadline =
      MonotonicNow() + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_drain_timeout));
  while (!dataplane.Drained()) {
    if (MonotonicNow() >= deadline || WaitForSignal(signal_fd, 10) != 0) {
      std::fprintf(stderr, "proxynode: closing the connections still open\n");
      dataplane.AbortConnections();
      break;
    }
  }
  (*control)->Shutdown();
  dataplane.Stop();
  std::fprintf(stderr, "proxynode: stopped\n");
  return 0;
}

}  // namespace
}  // namespace proxynode

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "proxynode: an HTTP/1.1 node that answers after a configurable, non-blocking delay.\n"
      "  proxynode --http_listen=0.0.0.0:8080 --delay=100ms --workers=2");
  absl::ParseCommandLine(argc, argv);
  return proxynode::Run();
}
