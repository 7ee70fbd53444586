#pragma once

// The node's life after start-up, on the main thread: serving until a signal or a Drain call
// (with the periodic chores: retired workers, memory, the config file), then the drain and
// the stop.

#include <atomic>

#include "absl/time/time.h"
#include "controlplane/config_file_reload.h"
#include "controlplane/config_pipeline.h"
#include "controlplane/config_watcher.h"
#include "controlplane/control_server.h"
#include "dataplane/dataplane.h"

namespace proxynode {

// Until a signal or a Drain call: every 100 ms (and on a config change) join retired
// workers, give freed memory back after a drop in connections, notice a Drain call, apply
// a changed config file (assembled by `assemble`) once its events settle. Returns the
// signal; 0 for a Drain call. `watcher` null: no config file is watched.
int ServeUntilDrain(int signal_fd, ConfigFileWatcher* watcher, Dataplane& dataplane,
                    ConfigPipeline& pipeline, const std::atomic<bool>& drain_requested,
                    AssembleConfigFn assemble);

// Readiness off, accepting stopped, then up to `drain_timeout` (or a second signal) for the
// open connections to finish before they are closed; then every thread stops.
void DrainAndStop(int signal_fd, int signo, absl::Duration drain_timeout, Dataplane& dataplane,
                  ControlServer& control);

}  // namespace proxynode
