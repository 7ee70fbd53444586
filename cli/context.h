#pragma once

// The global flags (--addr, --timeout, -o, --all, --tls_*) and what they resolve to: the
// nodes a command talks to and how. Resolution happens only for commands that talk to a
// node, so `completion` or `version --client` work whatever PROXYCTL_ADDR holds.

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
  // TLS (each else $PROXYCTL_TLS_...): --tls_ca turns it on and verifies the node with this
  // CA; --tls_cert and --tls_key add a client certificate (mutual TLS); --tls_server_name is
  // the name to verify instead of the address's host.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
};

struct Context {
  // One node without --all (the --addr element as given: gRPC resolves a name itself and
  // takes the first address that answers); every expanded address with --all.
  std::vector<std::string> addresses;
  std::chrono::milliseconds timeout{3000};
  bool json = false;
  bool yaml = false;  // -o yaml: the JSON document as YAML (json is then true as well)
  bool all = false;
  Transport transport;
};

// Checks the flags, reads the TLS files and expands the addresses. Usage errors (bad syntax,
// a list without --all, an unreadable TLS file) give exit code 2; a name that does not
// resolve with --all gives 3.
Outcome ResolveContext(const GlobalOptions& options, const Resolver& resolver, Context* context);

// Parses a duration flag that must be positive, e.g. "--timeout 500ms".
Outcome ParsePositiveDuration(const std::string& flag, const std::string& text,
                              std::chrono::milliseconds* out);

}  // namespace proxyctl
