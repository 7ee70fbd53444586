#include "controlplane/node_lifecycle.h"

#include <poll.h>

#include "controlplane/json_log.h"
#include "controlplane/memory_trimmer.h"
#include "controlplane/shutdown_signals.h"
#include "dataplane/core/clock.h"

namespace proxynode {

// Until a signal or a Drain call: every 100 ms (and on a config change) join retired
// workers, give freed memory back after a drop in connections, notice a Drain call, apply
// a changed config file once its events settle. Returns the signal; 0 for a Drain call.
int ServeUntilDrain(int signal_fd, ConfigFileWatcher* watcher, Dataplane& dataplane,
                    ConfigPipeline& pipeline, const std::atomic<bool>& drain_requested,
                    AssembleConfigFn assemble) {
  constexpr int kTickMs = 100;
  constexpr Nanos kSettle = 100 * kMillisecond;  // an editor's write comes in several events
  // 0: no reload pending. (Not a std::optional: at -Os GCC 12 takes its value for maybe
  // uninitialized, a false -Wmaybe-uninitialized, GCC bug 80635.)
  MonoTime reload_at = 0;
  MemoryTrimmer memory;
  MonoTime tls_checked_at = 0;
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
    if (signo == 0 && reload_at != 0 && MonotonicNow() >= reload_at) {
      reload_at = 0;
      ReloadConfigFile(*watcher, pipeline, assemble, dataplane.config_reloads());
    }
    memory.Tick(dataplane.Info().connections, dataplane.ReapRetiredWorkers());
    if (const MonoTime now = MonotonicNow(); now - tls_checked_at >= kSecond) {
      // A renewed certificate (a Kubernetes Secret update) serves new connections within a
      // second, without a restart.
      tls_checked_at = now;
      absl::StatusOr<bool> reloaded = dataplane.ReloadTlsIfChanged();
      if (!reloaded.ok()) {
        LogWarning("TLS certificate not reloaded; the previous one stays",
                   {{"error", std::string(reloaded.status().message())}});
      } else if (*reloaded) {
        LogInfo("TLS certificate reloaded", {});
      }
    }
  }
  return signo;
}

// Readiness off, accepting stopped, then up to --drain_timeout (or a second signal) for the
// open connections to finish before they are closed; then every thread stops.
void DrainAndStop(int signal_fd, int signo, absl::Duration drain_timeout, Dataplane& dataplane,
                  ControlServer& control) {
  LogInfo("draining", {{"reason", signo != 0 ? SignalName(signo) : "Drain call"},
                       {"drain_timeout", absl::FormatDuration(drain_timeout)},
                       {"connections", dataplane.Info().connections}});
  control.SetServing(false);
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
  control.Shutdown();
  dataplane.Stop();
  LogInfo("stopped");
}

}  // namespace proxynode
