#pragma once

// The config file: a NodeConfig in protobuf text format or JSON (see control.proto). Read at
// start-up and again whenever it changes (config_watcher.h); errors name the path.

#include <string>

#include "absl/status/statusor.h"
#include "dataplane/config/config_snapshot.h"

namespace proxynode {

absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// `base` with the fields `text` sets (what the file leaves out keeps its value in `base`).
// Not yet validated as a whole: the caller adds the command-line flags first.
absl::StatusOr<NodeConfig> OverlayConfigText(const NodeConfig& base, const std::string& text,
                                             const std::string& path);

}  // namespace proxynode
