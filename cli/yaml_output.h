#pragma once

// `-o yaml`: the same document as `-o json`, written as YAML (block style, keys sorted as
// kubectl prints them, string values double-quoted so that none changes type: "0s", "1").

#include <optional>
#include <string>

namespace proxyctl {

// The YAML form of the JSON text `json`; nullopt when it is not JSON.
std::optional<std::string> JsonToYaml(const std::string& json);

}  // namespace proxyctl
