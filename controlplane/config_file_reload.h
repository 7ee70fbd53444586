#pragma once

// Applies a changed config file through the config pipeline, logs what became of it and
// counts it in `reloads` (for /metrics): applied (ok), the same as what runs (unchanged), or
// refused whole with the running config kept (error: a file that does not read, parse or
// validate, or one found empty, most likely caught mid-rewrite).
//
// Thread contract: the node's main loop, which owns the watcher; blocks until the pipeline
// refused the file or every worker applied it.

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "controlplane/config_pipeline.h"
#include "controlplane/config_watcher.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/stats/config_reload_stats.h"

namespace proxynode {

// The whole config a file's text stands for: the defaults, the file, then the command-line
// flags, validated; a refusal names the path (proxynode_main.cc's AssembleConfig).
using AssembleConfigFn =
    absl::FunctionRef<absl::StatusOr<NodeConfig>(const std::string& path, const std::string& text)>;

void ReloadConfigFile(ConfigFileWatcher& watcher, ConfigPipeline& pipeline,
                      AssembleConfigFn assemble, ConfigReloadStats& reloads);

}  // namespace proxynode
