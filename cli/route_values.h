#pragma once

// The values of the `routes` and `upstream` keys: parsing them into NodeConfig.routes and
// showing routes one per line. Syntax only, like every key: the node checks prefixes,
// addresses and ranges, and names the offending route in its refusal.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// A JSON array of Route objects in protobuf JSON form into `config`'s routes, e.g.
// [{"prefix":"/api/","action":"PROXY","upstreams":["127.0.0.1:8081"],"delay":"0.2s"}];
// "[]" clears them. Durations may also be written as proxyctl prints them ("200ms") and the
// enums in lower case ("proxy", "round_robin"). On error, INVALID_ARGUMENT with the parser's
// reason on one line.
absl::Status ParseRoutesJson(const std::string& json, proxynode::v1::NodeConfig& config);

// The `routes` key's value: JSON as above, "none" (no routes), or the routes as
// `config get routes` prints them, one per line or separated by ";":
//   /api/ proxy 10.0.0.1:80,10.0.0.2:80 balancing=round_robin delay=200ms delay_percent=10
//   / respond
// On error, INVALID_ARGUMENT naming the word that is wrong.
absl::Status ParseRoutes(const std::string& text, proxynode::v1::NodeConfig& config);

// "HOST:PORT[,HOST:PORT...]" into one route "/" proxying to that pool, round robin; an
// empty text into no routes. False if an entry is empty or has no ":PORT".
bool ParseUpstreamPool(const std::string& pool, proxynode::v1::NodeConfig& config);

// One route on one line (see FormatRoutes in config_keys.h).
std::string FormatRoute(const proxynode::v1::Route& route);

}  // namespace proxyctl
