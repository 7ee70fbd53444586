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
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/config_file.h"
#include "controlplane/config_pipeline.h"
#include "controlplane/config_watcher.h"
#include "controlplane/control_server.h"
#include "controlplane/control_service.h"
#include "controlplane/grpc_log_bridge.h"
#include "controlplane/json_log.h"
#include "controlplane/memory_trimmer.h"
#include "dataplane/clock.h"
#include "dataplane/config_snapshot.h"
#include "dataplane/dataplane.h"
#include "dataplane/route_config.h"

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
ABSL_FLAG(std::string, upstream, "",
          "Reverse-proxy quick start: HOST:PORT[,HOST:PORT...] (names resolved at start-up, "
          "[v6]:port for IPv6). Every path is proxied to this pool, round robin (one route "
          "\"/\"), and --delay defaults to 0s. Replaces the config file's routes; given empty, "
          "no routes (every path answered with --body)");
ABSL_FLAG(std::string, control_listen, "127.0.0.1:9090",
          "gRPC control-plane address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, control_tls_cert, "",
          "PEM certificate chain for TLS on the control port (with --control_tls_key; re-read "
          "every minute, so a renewed certificate needs no restart); empty: plaintext");
ABSL_FLAG(std::string, control_tls_key, "", "PEM private key of --control_tls_cert");
ABSL_FLAG(std::string, control_tls_client_ca, "",
          "PEM CA bundle: clients of the control port must present a certificate it signed "
          "(mutual TLS; needs --control_tls_cert)");
ABSL_FLAG(std::string, config, "",
          "Start-up config file: NodeConfig in protobuf text format or JSON; flags given on the "
          "command line override it");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(25),
          "On SIGTERM, how long in-flight requests may take before connections are closed");
ABSL_FLAG(bool, cpu_local, false,
          "Pin worker i to the i-th allowed CPU and serve each connection on the worker whose "
          "CPU receives its packets (SO_INCOMING_CPU), moving it when that changes. Helps when "
          "clients run on the node's own cores (loopback, sidecars) with one worker per core; "
          "see docs/architecture.md");
ABSL_FLAG(bool, watch_config, true,
          "Apply --config again whenever the file changes (a ConfigMap update), as an "
          "UpdateConfig of every field; a file that does not validate is refused and logged");
ABSL_FLAG(std::string, log_level, "info",
          "Log records (JSON lines on stdout) below this level are dropped: debug, info, "
          "warning, error");

namespace proxynode {
namespace {

// A start-up refusal: one plain line on stderr, like any command's usage error, before the
// node runs (from the start-up record on, the log is JSON on stdout).
int Refuse(int exit_code, const std::string& message) {
  std::fprintf(stderr, "proxynode: %s\n", message.c_str());
  return exit_code;
}
int Refuse(int exit_code, const absl::Status& status) {
  return Refuse(exit_code, std::string(status.message()));
}

bool OnCommandLine(const char* flag) {
  // Abseil 20220623 (Debian 12) exposes this only in its internal header; it is exactly
  // "the user gave this flag", which a comparison with the default cannot tell.
  return absl::flags_internal::WasPresentOnCommandLine(flag);
}

bool UpstreamFlagGiven() {
  return OnCommandLine("upstream") && !absl::GetFlag(FLAGS_upstream).empty();
}

// --upstream's pool as the one route "/"; none when the flag is empty.
std::vector<RouteConfig> UpstreamFlagRoutes() {
  const std::string pool = absl::GetFlag(FLAGS_upstream);
  if (pool.empty()) {
    return {};
  }
  RouteConfig route;
  route.prefix = "/";
  route.action = RouteAction::kProxy;
  route.balancing = LoadBalancing::kRoundRobin;
  for (absl::string_view address : absl::StrSplit(pool, ',')) {
    route.upstreams.push_back(Upstream{std::string(address), {}});
  }
  return {route};
}

// "--upstream: upstreams[1]: ...": a refusal of the flag's route, named as the flag.
std::string UpstreamFlagError(const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, "routes[0].");
  return absl::StrCat("--upstream: ", message);
}

// The pool on its own, so a mistake in it is reported as the flag's.
absl::Status CheckUpstreamFlag() {
  NodeConfig alone;
  alone.routes = UpstreamFlagRoutes();
  if (absl::Status status = ValidateConfig(alone); !status.ok()) {
    return absl::InvalidArgumentError(UpstreamFlagError(status));
  }
  return absl::OkStatus();
}

void ApplyCommandLineFlags(NodeConfig& config) {
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
  if (OnCommandLine("upstream")) config.routes = UpstreamFlagRoutes();
}

// The config: defaults, then what the config file's `text` sets (when there is a file), then
// the flags given on the command line (a flag left at its default does not override the
// file). The same at start-up and at every reload, so a reload never undoes a flag.
absl::StatusOr<NodeConfig> AssembleConfig(const std::string& path, const std::string& text) {
  NodeConfig config;
  config.workers = std::max(1u, std::thread::hardware_concurrency());
  if (UpstreamFlagGiven()) {
    config.delay = 0;  // a proxy adds no delay unless asked to (by the file or --delay)
  }
  if (!path.empty()) {
    absl::StatusOr<NodeConfig> overlaid = OverlayConfigText(config, text, path);
    if (!overlaid.ok()) {
      return overlaid.status();
    }
    config = *overlaid;
  }
  ApplyCommandLineFlags(config);
  config.version = 1;
  if (absl::Status status = ValidateConfig(config); !status.ok()) {
    return path.empty() ? status
                        : absl::InvalidArgumentError(absl::StrCat(
                              "config file ", path, " with the flags: ", status.message()));
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

// "SIGTERM"; "signal N" for a number glibc has no name for.
std::string SignalName(int signo) {
  const char* abbreviation = sigabbrev_np(signo);
  return abbreviation != nullptr ? absl::StrCat("SIG", abbreviation)
                                 : absl::StrCat("signal ", signo);
}

// Reads a pending signal from the signalfd; its number, or 0.
int TakeSignal(int signal_fd) {
  signalfd_siginfo info{};
  if (read(signal_fd, &info, sizeof(info)) != sizeof(info)) {
    return 0;
  }
  return static_cast<int>(info.ssi_signo);
}

// Waits up to `timeout_ms` for a signal; returns its number or 0.
int WaitForSignal(int signal_fd, int timeout_ms) {
  pollfd pfd{signal_fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) {
    return 0;
  }
  return TakeSignal(signal_fd);
}

// Applies the config file again after it changed, through the config pipeline; a file that
// does not read, parse or validate is refused whole and the running config stays.
void ReloadConfigFile(ConfigFileWatcher& watcher, ConfigPipeline& pipeline) {
  absl::StatusOr<std::optional<std::string>> text = watcher.TakeChangedContent();
  if (!text.ok()) {
    LogWarning("config file unreadable; the running config stays",
               {{"path", watcher.path()}, {"error", std::string(text.status().message())}});
    return;
  }
  if (!text->has_value()) {
    return;  // events, but the same content
  }
  if ((*text)->find_first_not_of(" \t\r\n") == std::string::npos) {
    // Most likely a file caught while being rewritten; were it meant, it would reset every
    // setting to its default, which nobody does by emptying a file.
    LogWarning("config file is empty; the running config stays",
               {{"path", watcher.path()}, {"version", pipeline.running_version()}});
    return;
  }
  absl::StatusOr<NodeConfig> config = AssembleConfig(watcher.path(), **text);
  // A file that does not assemble never reaches the pipeline; its refusal is logged alike.
  ConfigOutcome replaced =
      config.ok() ? pipeline.Apply(ConfigChange{.source = ConfigSource::kConfigFile,
                                                .origin = watcher.path(),
                                                .expected_version = 0,  // the file always wins
                                                .update = *std::move(config)})
                  : ConfigOutcome(config.status());
  if (!replaced.ok()) {
    LogError("config file refused; the running config stays",
             {{"path", watcher.path()},
              {"error", std::string(replaced.status().message())},
              {"version", pipeline.running_version()}});
    return;
  }
  if (!replaced->changed) {
    LogInfo("config file reloaded: same config",
            {{"path", watcher.path()}, {"version", replaced->config->version}});
    return;
  }
  const ConfigSnapshot& now = *replaced->config;
  LogInfo("config file applied",
          {{"path", watcher.path()},
           {"version", now.version},
           {"apply_time_ms", static_cast<double>(replaced->apply_time) / 1e6},
           {"delay", FormatDuration(now.delay)},
           {"workers", now.workers},
           {"routes", now.routes.size()}});
}

int Run() {
  int signal_fd = BlockSignalsIntoFd();
  absl::StatusOr<LogLevel> log_level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!log_level.ok()) {
    return Refuse(2, absl::StrCat("--log_level: ", log_level.status().message()));
  }
  SetLogLevel(*log_level);
  RouteGrpcLogsToJsonLog();
  // Debian builds Abseil with its debug checks, so every absl::Mutex lock inside gRPC would
  // also update a lock-order graph for deadlock detection: a cost on every control call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const std::string config_path = absl::GetFlag(FLAGS_config);
  std::string config_text;
  if (!config_path.empty()) {
    absl::StatusOr<std::string> read = ReadConfigFile(config_path);
    if (!read.ok()) {
      return Refuse(2, read.status());
    }
    config_text = *std::move(read);
  }
  if (absl::Status upstream = CheckUpstreamFlag(); !upstream.ok()) {
    return Refuse(2, upstream);
  }
  absl::StatusOr<NodeConfig> config = AssembleConfig(config_path, config_text);
  if (!config.ok()) {
    return Refuse(2, config.status());
  }
  // The pipeline's start-up steps: validated, upstream names resolved, version 1.
  absl::StatusOr<NodeConfig> prepared = ConfigPipeline::PrepareStartupConfig(*config);
  if (!prepared.ok()) {
    const absl::Status& resolved = prepared.status();
    return Refuse(2, UpstreamFlagGiven() ? UpstreamFlagError(resolved)
                     : config_path.empty()
                         ? std::string(resolved.message())
                         : absl::StrCat("config file ", config_path, ": ", resolved.message()));
  }
  std::unique_ptr<ConfigFileWatcher> watcher;
  if (!config_path.empty() && absl::GetFlag(FLAGS_watch_config)) {
    absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> created =
        ConfigFileWatcher::Create(config_path, config_text);
    if (!created.ok()) {
      return Refuse(2, absl::StrCat("--watch_config: ", created.status().message()));
    }
    watcher = *std::move(created);
  }
  DataplaneOptions options;
  options.config = *prepared;
  options.cpu_local = absl::GetFlag(FLAGS_cpu_local);
  for (auto [flag, address] : {std::pair{"--http_listen", &options.http_address},
                               std::pair{"--admin_listen", &options.admin_address}}) {
    std::string text = flag == std::string("--http_listen") ? absl::GetFlag(FLAGS_http_listen)
                                                            : absl::GetFlag(FLAGS_admin_listen);
    absl::StatusOr<SocketAddress> parsed = ParseSocketAddress(text);
    if (!parsed.ok()) {
      return Refuse(2, absl::StrCat(flag, ": ", parsed.status().message()));
    }
    *address = *parsed;
  }
  absl::StatusOr<std::unique_ptr<Dataplane>> created = Dataplane::Create(options);
  if (!created.ok()) {
    return Refuse(created.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                  created.status());
  }
  Dataplane& dataplane = **created;
  // Declared before the service and the server, so destroyed after them: stopping the server
  // waits for the UpdateConfig calls the pipeline has yet to finish.
  ConfigPipeline pipeline(dataplane);
  std::atomic<bool> drain_requested{false};
  // The drain begins inside the Drain call (BeginDrain is thread-safe), so a request that
  // completes after Drain returned already carries Connection: close; the main loop then
  // notices the flag and runs the rest of the shutdown.
  ControlService service(dataplane, pipeline, [&dataplane, &drain_requested] {
    dataplane.BeginDrain();
    drain_requested.store(true);
  });
  const ControlTlsOptions tls{.cert_file = absl::GetFlag(FLAGS_control_tls_cert),
                              .key_file = absl::GetFlag(FLAGS_control_tls_key),
                              .client_ca_file = absl::GetFlag(FLAGS_control_tls_client_ca)};
  absl::StatusOr<std::unique_ptr<ControlServer>> control =
      ControlServer::Start(absl::GetFlag(FLAGS_control_listen), service, tls);
  if (!control.ok()) {
    // Bad TLS flags or files are usage errors, like other flags; not listening is not.
    return Refuse(control.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                  control.status());
  }
  dataplane.Start();
  const ConfigSnapshotPtr running = dataplane.config();
  // The start-up record: scripts and tests find the ports chosen for port 0 in it.
  LogInfo("proxynode listening",
          {{"http", dataplane.http_address().ToString()},
           {"admin", dataplane.admin_address().ToString()},
           {"control", (*control)->address()},
           {"control_tls", !tls.cert_file.empty()},
           {"workers", running->workers},
           {"cpu_local", absl::GetFlag(FLAGS_cpu_local)},
           {"delay", FormatDuration(running->delay)},
           {"routes", running->routes.size()},
           {"max_connections",
            running->max_connections != 0 ? running->max_connections : dataplane.connection_cap()},
           {"fd_limit_soft", dataplane.fd_limits().soft},
           {"fd_limit_hard", dataplane.fd_limits().hard},
           {"config", config_path},
           {"version", running->version}});

  // Until a signal or a Drain call: every 100 ms (and on a config change) join retired
  // workers, give freed memory back after a drop in connections, notice a Drain call, apply
  // a changed config file once its events settle.
  constexpr int kTickMs = 100;
  constexpr Nanos kSettle = 100 * kMillisecond;  // an editor's write comes in several events
  std::optional<MonoTime> reload_at;
  MemoryTrimmer memory;
  int signo = 0;
  while (signo == 0 && !drain_requested.load()) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watcher ? watcher->fd() : -1, POLLIN, 0}};
    if (poll(fds, 2, kTickMs) > 0) {
      if ((fds[0].revents & POLLIN) != 0) {
        signo = TakeSignal(signal_fd);
      }
      if ((fds[1].revents & POLLIN) != 0 && watcher->DrainEvents()) {
        reload_at = MonotonicNow() + kSettle;
      }
    }
    if (signo == 0 && reload_at && MonotonicNow() >= *reload_at) {
      reload_at.reset();
      ReloadConfigFile(*watcher, pipeline);
    }
    memory.Tick(dataplane.Info().connections, dataplane.ReapRetiredWorkers());
  }
  const absl::Duration drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  LogInfo("draining", {{"reason", signo != 0 ? SignalName(signo) : "Drain call"},
                       {"drain_timeout", absl::FormatDuration(drain_timeout)},
                       {"connections", dataplane.Info().connections}});
  (*control)->SetServing(false);
  if (!dataplane.draining()) {
    dataplane.BeginDrain();
  }
  const MonoTime deadline = MonotonicNow() + absl::ToInt64Nanoseconds(drain_timeout);
  while (!dataplane.Drained()) {
    if (MonotonicNow() >= deadline || WaitForSignal(signal_fd, 10) != 0) {
      LogWarning("closing the connections still open",
                 {{"connections", dataplane.Info().connections}});
      dataplane.AbortConnections();
      break;
    }
  }
  (*control)->Shutdown();
  dataplane.Stop();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace proxynode

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "proxynode: an HTTP/1.1 node that answers after a configurable, non-blocking delay.\n"
      "  proxynode --http_listen=0.0.0.0:8080 --delay=100ms --workers=2\n"
      "  proxynode --upstream=127.0.0.1:8081,127.0.0.1:8082   # a reverse proxy");
  absl::ParseCommandLine(argc, argv);
  return proxynode::Run();
}
