#include "controlplane/config_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "controlplane/config_translator.h"

namespace proxynode {

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {  // follows symlinks, as a ConfigMap has
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": not a readable regular file"));
  }
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": cannot read it"));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("config file ", path, ": read failed"));
  }
  return text.str();
}

absl::StatusOr<NodeConfig> OverlayConfigText(const NodeConfig& base, const std::string& text,
                                             const std::string& path) {
  absl::StatusOr<v1::NodeConfig> parsed = ParseConfigText(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", parsed.status().message()));
  }
  absl::StatusOr<NodeConfig> merged = MergePresentFields(base, *parsed);
  if (!merged.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", merged.status().message()));
  }
  return merged;
}

}  // namespace proxynode
