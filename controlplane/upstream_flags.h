#pragma once

// The reverse-proxy quick start on the command line: --upstream (a pool as the one route
// "/"), --upstream_protocol (what its servers speak) and --upstream_ca (TLS to them), and
// whether a flag was given at all.
//
// Thread contract: main's thread, after the flags are parsed.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/config/route_config.h"

namespace proxynode {

// The user gave `flag` on the command line (a value equal to the default included).
bool OnCommandLine(const char* flag);

// --upstream was given a pool.
bool UpstreamFlagGiven();
// --upstream's pool as the one route "/"; none when the flag is empty.
std::vector<RouteConfig> UpstreamFlagRoutes();
// "--upstream: upstreams[1]: ...": a refusal of the flag's route, named as the flag.
std::string UpstreamFlagError(const absl::Status& status);
// The three flags on their own, so a mistake in them is reported as theirs.
absl::Status CheckUpstreamFlag();

}  // namespace proxynode
