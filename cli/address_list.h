#pragma once

// The --addr value: "host:port[,host:port...]" expanded into the nodes to talk to. A name
// may resolve to several addresses (a headless Kubernetes Service: one A/AAAA record per
// pod), and each becomes a node of its own, with the port kept.
//
// The resolver is injected so the expansion is tested without DNS; the default one is
// getaddrinfo.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace proxyctl {

// Numeric addresses ("10.0.0.7", "fd00::7") for a host name; empty if it does not resolve.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

// getaddrinfo (IPv4 and IPv6, TCP), in the order it returns, numeric.
std::vector<std::string> ResolveWithGetaddrinfo(const std::string& host);

inline constexpr int kDefaultPort = 9090;

struct HostPort {
  std::string host;  // without brackets, e.g. "::1"
  int port = kDefaultPort;
  // "host:port", IPv6 in brackets: "[::1]:9090".
  std::string ToString() const;
};

// "host:port", "host" (port 9090), "[v6]:port" or "[v6]". INVALID_ARGUMENT naming the
// element for anything else (a bare IPv6 address must be bracketed: "::1" is ambiguous).
absl::StatusOr<HostPort> ParseHostPort(std::string_view element);

// Splits the comma-separated list into its elements, checking each (blank elements, e.g. a
// trailing comma, are refused). No resolution: "name:9090" stays a name.
absl::StatusOr<std::vector<HostPort>> SplitAddressList(std::string_view list);

// Splits and resolves: IP literals are kept as they are, names become every address they
// resolve to. Duplicates (same address and port) are dropped, the first occurrence
// keeping its place. INVALID_ARGUMENT for bad syntax; NOT_FOUND naming the host when a
// name resolves to nothing.
absl::StatusOr<std::vector<std::string>> ExpandAddressList(std::string_view list,
                                                           const Resolver& resolver);

}  // namespace proxyctl
