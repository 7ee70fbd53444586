#pragma once

// Resolves the upstream addresses of a config's proxy routes and TCP proxies, and makes the
// TLS client contexts of routes to TLS upstreams (reading their CA and certificate files),
// on the control plane's thread, before the config is published: workers only ever connect
// to Upstream::resolved, with RouteConfig::tls.

#include "absl/status/status.h"
#include "dataplane/config/config_snapshot.h"

namespace proxynode {

// Fills Upstream::resolved for every upstream that has none yet, with the first IPv4 or
// IPv6 address the system resolver returns for it (a literal needs no lookup). An upstream
// carried over from the running config keeps its address, so an update that leaves the
// routes alone needs no lookup and cannot fail here. Call it on a validated config. A name
// that does not resolve: INVALID_ARGUMENT naming the field, e.g.
// `routes[0].upstreams[1]: "nohost.invalid:80" does not resolve: Name or service not known`;
// the config is then left partly resolved and must not be published. A TLS file that cannot
// be used: INVALID_ARGUMENT naming it, e.g. `routes[0].upstream_tls.ca_file /x.pem: ...`.
absl::Status ResolveUpstreams(NodeConfig& config);

}  // namespace proxynode
