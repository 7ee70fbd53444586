#include "controlplane/config_file_reload.h"

#include <optional>
#include <utility>

#include "controlplane/config_diff.h"
#include "controlplane/json_log.h"

namespace proxynode {
namespace {

// The log line of a file the pipeline took: applied, or the same as what runs.
void LogTaken(const std::string& path, const ConfigResult& taken) {
  const ConfigSnapshot& now = *taken.config;
  if (!taken.changed) {
    LogInfo("config file reloaded: same config", {{"path", path}, {"version", now.version}});
    return;
  }
  LogInfo("config file applied", {{"path", path},
                                  {"version", now.version},
                                  {"apply_time_ms", static_cast<double>(taken.apply_time) / 1e6},
                                  {"delay", FormatDuration(now.delay)},
                                  {"workers", now.workers},
                                  {"routes", now.routes.size()},
                                  {"diff", RawJson{DiffToJson(taken.diff)}}});
}

}  // namespace

void ReloadConfigFile(ConfigFileWatcher& watcher, ConfigPipeline& pipeline,
                      AssembleConfigFn assemble, ConfigReloadStats& reloads) {
  absl::StatusOr<std::optional<std::string>> text = watcher.TakeChangedContent();
  if (!text.ok()) {
    reloads.error.Add();
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
    reloads.error.Add();
    LogWarning("config file is empty; the running config stays",
               {{"path", watcher.path()}, {"version", pipeline.running_version()}});
    return;
  }
  absl::StatusOr<NodeConfig> config = assemble(watcher.path(), **text);
  // A file that does not assemble never reaches the pipeline; its refusal is logged alike.
  ConfigOutcome taken =
      config.ok() ? pipeline.Apply(ConfigChange{.source = ConfigSource::kConfigFile,
                                                .origin = watcher.path(),
                                                .expected_version = 0,  // the file always wins
                                                .update = *std::move(config)})
                  : ConfigOutcome(config.status());
  if (!taken.ok()) {
    reloads.error.Add();
    LogError("config file refused; the running config stays",
             {{"path", watcher.path()},
              {"error", std::string(taken.status().message())},
              {"version", pipeline.running_version()}});
    return;
  }
  (taken->changed ? reloads.ok : reloads.unchanged).Add();
  LogTaken(watcher.path(), *taken);
}

}  // namespace proxynode
