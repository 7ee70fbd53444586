// proxynode: the node's entry point. Builds the start-up configuration from a config file and
// flags, starts the data plane and the gRPC control plane, prints the bound addresses on one
// line, and drains on SIGTERM/SIGINT or a Drain call.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/build_info.h"
#include "controlplane/command_line.h"
#include "controlplane/config_file.h"
#include "controlplane/config_file_reload.h"
#include "controlplane/config_pipeline.h"
#include "controlplane/config_watcher.h"
#include "controlplane/control_http_server.h"
#include "controlplane/control_server.h"
#include "controlplane/control_service.h"
#include "controlplane/control_tls.h"
#include "controlplane/grpc_log_bridge.h"
#include "controlplane/json_log.h"
#include "controlplane/node_lifecycle.h"
#include "controlplane/shutdown_signals.h"
#include "controlplane/toxiproxy_api.h"
#include "controlplane/upstream_flags.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/config/route_config.h"
#include "dataplane/core/clock.h"
#include "dataplane/dataplane.h"

ABSL_FLAG(std::string, http_listen, "0.0.0.0:8080",
          "HTTP data-plane address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, https_listen, "",
          "TLS data-plane address (host:port; port 0 picks one): HTTP/1.1 and HTTP/2 (ALPN h2) "
          "over TLS, with --tls_cert and --tls_key; empty: none");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for --https_listen (read again when the file changes)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
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
ABSL_FLAG(std::string, control_tls_cert, "",
          "PEM certificate chain for TLS on the control port (with --control_tls_key; re-read "
          "every minute, so a renewed certificate needs no restart); empty: plaintext");
ABSL_FLAG(std::string, control_tls_key, "", "PEM private key of --control_tls_cert");
ABSL_FLAG(std::string, control_tls_client_ca, "",
          "PEM CA bundle: clients of the control port must present a certificate it signed "
          "(mutual TLS; needs --control_tls_cert)");
ABSL_FLAG(std::string, toxiproxy_listen, "",
          "Serve a Toxiproxy-compatible HTTP API for the TCP proxies on this address "
          "(host:port, Toxiproxy's port is 8474; port 0 picks one); empty: off");
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
ABSL_FLAG(std::string, access_log, "",
          "One JSON line per request to stdout or to this file (appended); empty: off");
ABSL_FLAG(double, access_log_sample, 1.0,
          "Share of requests the access log records, (0, 1]: 0.01 logs one in a hundred");
ABSL_FLAG(bool, check, false,
          "Check the configuration (--config with the flags: values, upstream names, listen "
          "addresses, TLS files) and exit without starting, like nginx -t: 0 and one line when "
          "valid, else the error naming the field (exit 2)");
ABSL_FLAG(std::string, log_level, "info",
          "Log records (JSON lines on stdout) below this level are dropped: debug, info, "
          "warning, error");

namespace proxynode {
namespace {

// A start-up refusal: one plain line on stderr, like any command's usage error, before the
// node runs (from the start-up record on, the log is JSON on stdout). INVALID_ARGUMENT is a
// usage error, exit 2 (flags, the config file, addresses, TLS files); anything else is a
// failure to start, exit 1 (a port in use).
int Refuse(const absl::Status& status) {
  std::fprintf(stderr, "proxynode: %s\n", std::string(status.message()).c_str());
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }

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
// file). The same at start-up and at every reload, so a reload never undoes a flag. Its
// version is the pipeline's to set.
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
  if (absl::Status status = ValidateConfig(config); !status.ok()) {
    return path.empty() ? status
                        : absl::InvalidArgumentError(absl::StrCat(
                              "config file ", path, " with the flags: ", status.message()));
  }
  return config;
}

// A start-up upstream that does not resolve, named as the flag or the file that brought it.
std::string ResolveRefusal(const std::string& config_path, const absl::Status& status) {
  if (UpstreamFlagGiven()) {
    return UpstreamFlagError(status);
  }
  if (config_path.empty()) {
    return std::string(status.message());
  }
  return absl::StrCat("config file ", config_path, ": ", status.message());
}

struct StartupConfig {
  std::string path;  // --config; empty: none
  std::string text;  // the file's content, which the watcher takes as applied
  NodeConfig config;
};

// The config file (when --config names one) under the flags, validated and its upstream
// names resolved by the config pipeline's start-up steps. Every refusal is a usage error.
absl::StatusOr<StartupConfig> LoadStartupConfig() {
  StartupConfig startup;
  startup.path = absl::GetFlag(FLAGS_config);
  if (!startup.path.empty()) {
    absl::StatusOr<std::string> read = ReadConfigFile(startup.path);
    if (!read.ok()) {
      return UsageError(read.status().message());
    }
    startup.text = *std::move(read);
  }
  if (absl::Status upstream = CheckUpstreamFlag(); !upstream.ok()) {
    return upstream;
  }
  absl::StatusOr<NodeConfig> assembled = AssembleConfig(startup.path, startup.text);
  if (!assembled.ok()) {
    return UsageError(assembled.status().message());
  }
  absl::StatusOr<NodeConfig> prepared = ConfigPipeline::PrepareStartupConfig(*assembled);
  if (!prepared.ok()) {
    return UsageError(ResolveRefusal(startup.path, prepared.status()));
  }
  startup.config = *std::move(prepared);
  return startup;
}

// The watcher of --config while --watch_config is on; null without one.
absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> WatchConfigFile(const StartupConfig& startup) {
  if (startup.path.empty() || !absl::GetFlag(FLAGS_watch_config)) {
    return std::unique_ptr<ConfigFileWatcher>();
  }
  absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> created =
      ConfigFileWatcher::Create(startup.path, startup.text);
  if (!created.ok()) {
    return UsageError(absl::StrCat("--watch_config: ", created.status().message()));
  }
  return created;
}

// What the control service needs beyond the data plane: the defaults a declarative update
// starts from, and the file that owns the config when it is watched.
ControlService::Settings ControlServiceSettings(const std::string& config_path, bool watched) {
  ControlService::Settings settings;
  // Defaults and flags were validated at start-up already, so this cannot fail.
  absl::StatusOr<NodeConfig> defaults = AssembleConfig("", "");
  if (defaults.ok()) {
    settings.defaults = *std::move(defaults);
  }
  settings.watched_config_file = watched ? config_path : "";
  return settings;
}

absl::StatusOr<SocketAddress> ListenFlag(absl::string_view flag, const std::string& value) {
  absl::StatusOr<SocketAddress> parsed = ParseSocketAddress(value);
  if (!parsed.ok()) {
    return UsageError(absl::StrCat(flag, ": ", parsed.status().message()));
  }
  return parsed;
}

// Binds the data plane's listeners for the start-up config; no thread runs until Start.
absl::StatusOr<std::unique_ptr<Dataplane>> CreateDataplane(const NodeConfig& config) {
  DataplaneOptions options;
  options.config = config;
  options.cpu_local = absl::GetFlag(FLAGS_cpu_local);
  const BuildInfo& build = ThisBuild();
  options.build = {
      .version = build.version, .commit = build.commit, .build_type = build.build_type};
  if (const std::string where = absl::GetFlag(FLAGS_access_log); !where.empty()) {
    absl::StatusOr<std::unique_ptr<AccessLog>> log =
        AccessLog::Open(where, absl::GetFlag(FLAGS_access_log_sample));
    if (!log.ok()) {
      return UsageError(log.status().message());
    }
    options.access_log = std::move(*log);
  }
  absl::StatusOr<SocketAddress> http =
      ListenFlag("--http_listen", absl::GetFlag(FLAGS_http_listen));
  if (!http.ok()) {
    return http.status();
  }
  absl::StatusOr<SocketAddress> admin =
      ListenFlag("--admin_listen", absl::GetFlag(FLAGS_admin_listen));
  if (!admin.ok()) {
    return admin.status();
  }
  options.http_address = *http;
  options.admin_address = *admin;
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  const bool tls_files = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (const std::string https = absl::GetFlag(FLAGS_https_listen); !https.empty()) {
    absl::StatusOr<SocketAddress> address = ListenFlag("--https_listen", https);
    if (!address.ok()) {
      return address.status();
    }
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return UsageError("--https_listen needs --tls_cert and --tls_key");
    }
    options.https_address = *address;
  } else if (tls_files) {
    return UsageError("--tls_cert and --tls_key go with --https_listen");
  }
  return Dataplane::Create(std::move(options));
}

ControlTlsOptions TlsFlags() {
  return {.cert_file = absl::GetFlag(FLAGS_control_tls_cert),
          .key_file = absl::GetFlag(FLAGS_control_tls_key),
          .client_ca_file = absl::GetFlag(FLAGS_control_tls_client_ca)};
}

// Bad TLS flags or files are usage errors (INVALID_ARGUMENT), like other flags; an address it
// cannot listen on is not.
absl::StatusOr<std::unique_ptr<ControlServer>> StartControlServer(ControlService& service) {
  return ControlServer::Start(absl::GetFlag(FLAGS_control_listen), service, TlsFlags());
}

// --log_level, and gRPC's own logs routed into the JSON log.
absl::Status SetUpLogging() {
  absl::StatusOr<LogLevel> log_level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!log_level.ok()) {
    return UsageError(absl::StrCat("--log_level: ", log_level.status().message()));
  }
  SetLogLevel(*log_level);
  RouteGrpcLogsToJsonLog();
  // Debian builds Abseil with its debug checks, so every absl::Mutex lock inside gRPC would
  // also update a lock-order graph for deadlock detection: a cost on every control call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return absl::OkStatus();
}

// --check: what else start-up would refuse (addresses, TLS files), with nothing bound.
int CheckOnly(const StartupConfig& startup) {
  for (const auto& [flag, value] :
       {std::pair{"--http_listen", absl::GetFlag(FLAGS_http_listen)},
        {"--admin_listen", absl::GetFlag(FLAGS_admin_listen)},
        {"--toxiproxy_listen", absl::GetFlag(FLAGS_toxiproxy_listen)}}) {
    if (value.empty() && flag == std::string_view("--toxiproxy_listen")) {
      continue;  // off
    }
    if (absl::StatusOr<SocketAddress> address = ListenFlag(flag, value); !address.ok()) {
      return Refuse(address.status());
    }
  }
  if (auto tls = ControlServerCredentials(TlsFlags()); !tls.ok()) {
    return Refuse(tls.status());
  }
  const std::string checked = startup.path.empty()
                                  ? "the flags"
                                  : absl::StrCat("config file ", startup.path, " with the flags");
  std::printf("proxynode: the configuration is valid (%s)\n", checked.c_str());
  return 0;
}

// The start-up record: scripts and tests find the ports chosen for port 0 in it.
void LogListening(const Dataplane& dataplane, const ControlServer& control,
                  const ControlHttpServer* toxiproxy, const std::string& config_path) {
  const ConfigSnapshotPtr running = dataplane.config();
  LogInfo("proxynode listening",
          {{"http", dataplane.http_address().ToString()},
           {"https", dataplane.https_address() ? dataplane.https_address()->ToString() : ""},
           {"admin", dataplane.admin_address().ToString()},
           {"control", control.address()},
           {"control_tls", !absl::GetFlag(FLAGS_control_tls_cert).empty()},
           {"toxiproxy", toxiproxy != nullptr ? toxiproxy->address().ToString() : ""},
           {"workers", running->workers},
           {"cpu_local", absl::GetFlag(FLAGS_cpu_local)},
           {"delay", FormatDuration(running->delay)},
           {"routes", running->routes.size()},
           {"max_connections",
            running->max_connections != 0 ? running->max_connections : dataplane.connection_cap()},
           {"fd_limit_soft", dataplane.fd_limits().soft},
           {"fd_limit_hard", dataplane.fd_limits().hard},
           {"config", config_path},
           {"version", running->version},
           {"build", BuildSummary()}});
}

int Run() {
  const int signal_fd = BlockSignalsIntoFd();
  if (absl::Status logging = SetUpLogging(); !logging.ok()) {
    return Refuse(logging);
  }
  absl::StatusOr<StartupConfig> startup = LoadStartupConfig();
  if (!startup.ok()) {
    return Refuse(startup.status());
  }
  if (absl::GetFlag(FLAGS_check)) {
    return CheckOnly(*startup);
  }
  absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> watcher = WatchConfigFile(*startup);
  if (!watcher.ok()) {
    return Refuse(watcher.status());
  }
  absl::StatusOr<std::unique_ptr<Dataplane>> created = CreateDataplane(startup->config);
  if (!created.ok()) {
    return Refuse(created.status());
  }
  Dataplane& dataplane = **created;
  // Declared before the service and the server, so destroyed after them: stopping the server
  // waits for the UpdateConfig calls the pipeline has yet to finish.
  ConfigPipeline pipeline(dataplane);
  std::atomic<bool> drain_requested{false};
  // The drain begins inside the Drain call (BeginDrain is thread-safe), so a request that
  // completes after Drain returned already carries Connection: close; the main loop then
  // notices the flag and runs the rest of the shutdown.
  ControlService service(
      dataplane, pipeline,
      [&dataplane, &drain_requested] {
        dataplane.BeginDrain();
        drain_requested.store(true);
      },
      ControlServiceSettings(startup->path, watcher->get() != nullptr));
  absl::StatusOr<std::unique_ptr<ControlServer>> control = StartControlServer(service);
  if (!control.ok()) {
    return Refuse(control.status());
  }
  // Destroyed before the pipeline and the control server: a call under way finishes first.
  ToxiproxyApi toxiproxy_api(pipeline, dataplane, ThisBuild().version);
  absl::StatusOr<std::unique_ptr<ControlHttpServer>> toxiproxy =
      ServeToxiproxyApi(absl::GetFlag(FLAGS_toxiproxy_listen), toxiproxy_api);
  if (!toxiproxy.ok()) {
    return Refuse(toxiproxy.status());
  }
  dataplane.Start();
  LogListening(dataplane, **control, toxiproxy->get(), startup->path);
  const int signo = ServeUntilDrain(signal_fd, watcher->get(), dataplane, pipeline, drain_requested,
                                    AssembleConfig);
  DrainAndStop(signal_fd, signo, absl::GetFlag(FLAGS_drain_timeout), dataplane, **control);
  return 0;
}

}  // namespace
}  // namespace proxynode

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "proxynode: an HTTP/1.1 node that answers after a configurable, non-blocking delay.\n"
      "  proxynode --http_listen=0.0.0.0:8080 --delay=100ms --workers=2\n"
      "  proxynode --upstream=127.0.0.1:8081,127.0.0.1:8082   # a reverse proxy");
  // --version: one line on stdout, exit 0 (Abseil's flag parsing handles the flag).
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return "proxynode " + proxynode::BuildSummary() + "\n"; };
  absl::SetFlagsUsageConfig(usage);
  if (absl::Status refused = proxynode::CheckCommandLine(argc, argv); !refused.ok()) {
    std::fprintf(stderr, "proxynode: %s\n", std::string(refused.message()).c_str());
    return 2;  // a usage error, as any refused flag or config
  }
  absl::ParseCommandLine(argc, argv);
  return proxynode::Run();
}
