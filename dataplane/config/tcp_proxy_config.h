#pragma once

// TCP proxies (issue 19, docs/tcp-proxies.md): each listens on its own address and relays
// every connection to its upstream through its toxics. Part of NodeConfig.
//
// The listening socket is bound by the control plane when a config is applied (so port 0
// names a real port, and an address in use refuses the update), kept by the data plane's
// TcpListenSockets, and named here by its fd for the workers to accept on.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/fault/toxic_config.h"

namespace proxynode {

struct TcpProxyConfig {
  std::string name;
  std::string listen;    // "host:port" as configured; port 0 is replaced by the bound port
  std::string upstream;  // "host:port" as configured
  bool enabled = true;
  std::vector<ToxicConfig> toxics;
  Nanos connect_timeout = 5 * kSecond;
  // Filled when the config is applied (never by translation): the upstream's address, and
  // the listening socket of an enabled proxy (-1 otherwise).
  SocketAddress upstream_resolved;
  int listen_fd = -1;

  // What was configured; the resolved address and the socket follow from it (as Upstream
  // compares by address), so an update naming the same proxy again is no change.
  bool operator==(const TcpProxyConfig& other) const {
    return name == other.name && listen == other.listen && upstream == other.upstream &&
           enabled == other.enabled && toxics == other.toxics &&
           connect_timeout == other.connect_timeout;
  }
};

struct TcpProxyBounds {
  static constexpr size_t kMaxProxies = 256;
  static constexpr Nanos kMinTimeout = kMillisecond;
  static constexpr Nanos kMaxTimeout = 3600 * kSecond;
};

// Names (unique, 1-64 of A-Z a-z 0-9 . _ -), addresses ("host:port", listen addresses
// unique), timeouts and toxics. Messages name the proxy: "tcp_proxies[db].upstream".
absl::Status ValidateTcpProxies(const std::vector<TcpProxyConfig>& proxies);

}  // namespace proxynode
