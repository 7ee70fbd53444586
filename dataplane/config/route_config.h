#pragma once

// Routing part of the runtime configuration: which handler serves a path prefix, and for
// `proxy` routes the upstream pool, its balancing, its timeouts and the fault injection
// (delay, and the share of requests that get it).
//
// Upstream addresses are resolved before a config is published (UpstreamResolver, in the
// control plane's thread): a worker never calls the resolver.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/core/clock.h"
#include "dataplane/core/socket_ops.h"

namespace proxynode {

enum class RouteAction : uint8_t { kRespond, kProxy };
enum class LoadBalancing : uint8_t { kRoundRobin, kLeastOutstanding };
// How a proxy route talks to its upstreams: HTTP/1.1 (over TLS with upstream_tls), HTTP/2 in
// clear with prior knowledge (h2c; what a gRPC server without TLS speaks), or HTTP/2 over
// TLS (h2, agreed by ALPN).
enum class UpstreamProtocol : uint8_t { kHttp1, kH2c, kH2 };

class TlsClientContext;  // transport/tls_client_context.h; made from UpstreamTlsConfig

// TLS to a route's upstreams.
struct UpstreamTlsConfig {
  std::string server_name;  // SNI and the name checked; empty: each upstream's host
  std::string ca_file;      // PEM CAs to trust; empty: the system's
  std::string cert_file;    // client certificate chain (PEM), with key_file; empty: none
  std::string key_file;

  bool operator==(const UpstreamTlsConfig&) const = default;
};

// The client context made from a route's UpstreamTlsConfig when its config is applied (the
// files read then). Not part of a config's value: two configs with the same settings are
// equal, whichever context they carry.
struct UpstreamTlsContext {
  std::shared_ptr<TlsClientContext> context;

  bool operator==(const UpstreamTlsContext&) const { return true; }
};

struct Upstream {
  std::string address;     // "host:port" as configured; the key for stats and pools
  SocketAddress resolved;  // filled by ResolveUpstreams; length 0 until then

  bool operator==(const Upstream& other) const { return address == other.address; }
};

struct RouteConfig {
  std::string prefix = "/";  // matched against the request target; longest prefix wins
  RouteAction action = RouteAction::kRespond;
  std::vector<Upstream> upstreams;  // proxy only; at least one
  LoadBalancing balancing = LoadBalancing::kRoundRobin;
  UpstreamProtocol upstream_protocol = UpstreamProtocol::kHttp1;
  // TLS to the upstreams: set (or upstream_protocol kH2, which implies it with defaults).
  std::optional<UpstreamTlsConfig> upstream_tls;
  UpstreamTlsContext tls;        // filled with upstream_tls's context when the config is applied
  std::optional<Nanos> delay;    // overrides NodeConfig::delay when set
  uint32_t delay_percent = 100;  // share of requests that get the delay, [0, 100]
  Nanos connect_timeout = 2 * kSecond;
  Nanos first_byte_timeout = 30 * kSecond;  // request sent -> first byte of the response head
  Nanos total_timeout = 300 * kSecond;      // connect start -> last byte of the response

  bool operator==(const RouteConfig&) const = default;

  bool uses_tls() const { return upstream_protocol == UpstreamProtocol::kH2 || upstream_tls; }
  bool http2_upstreams() const { return upstream_protocol != UpstreamProtocol::kHttp1; }
};

struct RouteBounds {
  static constexpr size_t kMaxRoutes = 256;
  static constexpr size_t kMaxUpstreamsPerRoute = 256;
  static constexpr size_t kMaxPrefixBytes = 1024;
  static constexpr Nanos kMinTimeout = kMillisecond;
  static constexpr Nanos kMaxTimeout = 3600 * kSecond;
};

}  // namespace proxynode
