#pragma once

// The node's runtime configuration. Workers hold an immutable snapshot (shared_ptr to const)
// and every request captures the one it was parsed under, so a delayed response finishes
// under the config it started with even if a newer one is published meanwhile.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/config/route_config.h"
#include "dataplane/config/tcp_proxy_config.h"
#include "dataplane/core/clock.h"
#include "dataplane/fault/fault_rule.h"

namespace proxynode {

struct NodeConfig {
  uint64_t version = 1;
  Nanos delay = 100 * kMillisecond;
  std::string body = "Hello World\n";
  uint32_t workers = 1;
  // 0 = as many as the file-descriptor limit allows (resolved at start-up).
  uint32_t max_connections = 0;
  uint32_t max_pending = 0;  // 0 = unlimited
  uint32_t rate_limit = 0;   // requests per second across the node, 0 = off
  Nanos header_timeout = 10 * kSecond;
  Nanos idle_timeout = 60 * kSecond;
  uint32_t max_header_bytes = 8192;
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_requests_per_connection = 0;  // 0 = unlimited
  // Empty: every path is answered by `respond` (the node's default behaviour).
  std::vector<RouteConfig> routes;
  // Fault rules, tried in order (docs/faults.md). A route's delay and delay_percent act as
  // an implicit rule tried after these.
  std::vector<FaultRule> faults;
  // Requests delayed or throttled by a fault at once, node-wide; over it a request is served
  // without its fault (counted as overflowed). 0 = unlimited.
  uint32_t max_active_faults = 0;
  // Seeds the workers' fault generators (worker i draws from seed + i), so that a run can be
  // repeated. 0 = a random seed at start.
  uint64_t fault_seed = 0;
  // TCP proxies with their toxics (docs/tcp-proxies.md).
  std::vector<TcpProxyConfig> tcp_proxies;

  bool operator==(const NodeConfig&) const = default;
};

using ConfigSnapshot = NodeConfig;
using ConfigSnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

// Allowed ranges, in one place: flags, config files and UpdateConfig all go through here.
struct ConfigBounds {
  static constexpr Nanos kMaxDelay = 3600 * kSecond;
  static constexpr size_t kMaxBodyBytes = 1 << 20;
  static constexpr uint32_t kMaxWorkers = 256;
  static constexpr uint32_t kMaxConnections = 10'000'000;
  static constexpr Nanos kMinTimeout = kMillisecond;
  static constexpr Nanos kMaxHeaderTimeout = 3600 * kSecond;
  static constexpr Nanos kMaxIdleTimeout = 24 * 3600 * kSecond;
  static constexpr uint32_t kMinHeaderBytes = 256;
  static constexpr uint32_t kMaxHeaderBytes = 1 << 20;
  static constexpr uint64_t kMaxRequestBodyBytes = uint64_t{1} << 40;
  static constexpr uint32_t kMaxRateLimit = 100'000'000;
};

// OK, or INVALID_ARGUMENT naming the first offending field, its value and the allowed range.
absl::Status ValidateConfig(const NodeConfig& config);

// Why `address` is not "host:port" (host a name, an IPv4 literal or a bracketed IPv6
// literal; port 1-65535, or 0-65535 with `allow_port_zero`), or empty when it is. Only the
// syntax: whether a name resolves is the control plane's check, as it needs the resolver.
std::string HostPortProblem(std::string_view address, bool allow_port_zero = false);

// "100ms", "1.5s", "0s": the compact form used in logs and error messages.
std::string FormatDuration(Nanos duration);

}  // namespace proxynode
