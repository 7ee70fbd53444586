#pragma once

// The global flags (--addr, --timeout, -o, --all) and what they resolve to: the nodes a
// command talks to. Resolution happens only for commands that talk to a node, so
// `completion` or `version --client` work whatever PROXYCTL_ADDR holds.

#include <chrono>
#include <string>
#include <vector>

#include "cli/address_list.h"
#include "cli/node_client.h"

namespace proxyctl {

inline constexpr char kDefaultAddress[] = "127.0.0.1:9090";

struct GlobalOptions {
  std::string addr = kDefaultAddress;  // --addr, else $PROXYCTL_ADDR
  std::string timeout = "3s";
  std::string output = "table";
  bool all = false;
};

struct Context {
  // One node without --all (the --addr element as given: gRPC resolves a name itself and
  // takes the first address that answers); every expanded address with --all.
  std::vector<std::string> addresses;
  std::chrono::milliseconds timeout{3000};
  bool json = false;
  bool all = false;
};

// Checks the flags and expands the addresses. Usage errors (bad syntax, a list without
// --all) give exit code 2; a name that does not resolve with --all gives 3.
Outcome ResolveContext(const GlobalOptions& options, const Resolver& resolver, Context* context);

// Parses a duration flag that must be positive, e.g. "--timeout 500ms".
Outcome ParsePositiveDuration(const std::string& flag, const std::string& text,
                              std::chrono::milliseconds* out);

}  // namespace proxyctl
