#pragma once

// The settable keys of NodeConfig (the UpdateConfig mask paths) and `key=value` parsing
// into a NodeConfig plus field mask. Pure: no I/O, so every key and message is unit-tested.
//
// Only syntax is checked here (is it a duration, a size, an integer that fits the field);
// ranges are the node's job, so there is one source of truth for them and its
// INVALID_ARGUMENT message reaches the user. The `allowed` texts quote the node's ranges as
// guidance only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

struct ConfigKey {
  // kRoutes: the routes list as JSON. kUpstreamPool: the `upstream` shorthand, which sets
  // `routes` to one route "/" proxying to a pool. kTcpProxies: the TCP proxy list as JSON
  // (tcp_proxy_values.h).
  enum class Kind { kDuration, kString, kCount, kSize, kRoutes, kUpstreamPool, kTcpProxies };
  const char* name;  // the NodeConfig field and mask path (for a shorthand: FieldName)
  Kind kind;
  const char* allowed;  // what a value must look like, for error messages and help
};

// Every settable key, in the proto's field order, then the `upstream` shorthand. The fault
// rules (`faults`) are no key: `proxyctl fault` edits them rule by rule.
const std::vector<ConfigKey>& ConfigKeys();

// The NodeConfig field (and mask path) `key` sets: its name, or "routes" for `upstream`.
std::string FieldName(const ConfigKey& key);

// The key named `name` ('-' accepted for '_', e.g. "max-pending"); nullptr if none.
const ConfigKey* FindConfigKey(std::string_view name);

// "delay, body, workers, ...".
std::string ConfigKeyList();

struct ConfigChange {
  proxynode::v1::NodeConfig config;
  google::protobuf::FieldMask mask;
};

// Parses `key=value` arguments. On error, INVALID_ARGUMENT with one line naming the
// argument, e.g. "workers=abc: must be an integer 1-256".
absl::StatusOr<ConfigChange> ParseAssignments(const std::vector<std::string>& assignments);

// A config file's text: a NodeConfig in protobuf text format, or JSON when it starts with
// '{' (as the node's --config reads it). The mask is the fields the file has. On error,
// INVALID_ARGUMENT with the parser's messages on one line.
absl::StatusOr<ConfigChange> ParseConfigText(const std::string& text);

// The fields a parsed config file has (proto presence), as a mask; "version" is left out:
// it is output only, and a file saved by `config get -o json` carries it.
google::protobuf::FieldMask PresentFields(const proxynode::v1::NodeConfig& config);

// `key`'s value in human units ("250ms", "8KiB", "\"Hello World\\n\""), as `config get`
// shows it; empty if the field is unset. Routes on one line, "; " between them ("none" if
// there are none).
std::string FormatConfigValue(const proxynode::v1::NodeConfig& config, const ConfigKey& key);

// One line per route, e.g. "/api/ proxy 10.0.0.1:80,10.0.0.2:80 balancing=round_robin
// delay=200ms delay_percent=10 connect_timeout=2s first_byte_timeout=30s total_timeout=5m".
// A respond route shows no upstream settings; an unset delay (the node's), a delay_percent
// of 100 and HTTP/1.1 upstreams are left out ("upstream_protocol=h2c" when HTTP/2).
std::vector<std::string> FormatRoutes(const proxynode::v1::NodeConfig& config);

// A string with C-style escapes for control characters and quotes, in double quotes.
std::string Quote(std::string_view text);

// The text a Quote stands for (\n \t \r \" \\ \xHH); text not in double quotes as it is.
// nullopt: a quoted text with an unknown or unfinished escape.
std::optional<std::string> Unquote(std::string_view text);

}  // namespace proxyctl
