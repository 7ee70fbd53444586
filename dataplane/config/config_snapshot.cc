#include "dataplane/config/config_snapshot.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <unordered_map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "dataplane/http/http_syntax.h"

namespace proxynode {
namespace {

absl::Status OutOfRange(const std::string& field, const std::string& value, const std::string& low,
                        const std::string& high) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", value, " is out of range [", low, ", ", high, "]"));
}

absl::Status CheckDuration(const std::string& field, Nanos value, Nanos low, Nanos high) {
  if (value < low || value > high) {
    return OutOfRange(field, FormatDuration(value), FormatDuration(low), FormatDuration(high));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(const std::string& field, uint64_t value, uint64_t low, uint64_t high) {
  if (value < low || value > high) {
    return OutOfRange(field, absl::StrCat(value), absl::StrCat(low), absl::StrCat(high));
  }
  return absl::OkStatus();
}

absl::Status CheckUpstreams(const std::string& field, const RouteConfig& route) {
  if (route.action == RouteAction::kRespond) {
    if (!route.upstreams.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": a RESPOND route takes none (", route.upstreams.size(), " given)"));
    }
    return absl::OkStatus();
  }
  if (absl::Status count = CheckCount(absl::StrCat(field, " (count)"), route.upstreams.size(), 1,
                                      RouteBounds::kMaxUpstreamsPerRoute);
      !count.ok()) {
    return count;
  }
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t j = 0; j < route.upstreams.size(); ++j) {
    const std::string& address = route.upstreams[j].address;
    const std::string name = absl::StrCat(field, "[", j, "]");
    if (std::string problem = HostPortProblem(address); !problem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": \"", absl::CEscape(address),
                                                     "\" is not host:port (", problem, ")"));
    }
    if (auto [it, inserted] = seen.emplace(address, j); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": \"", address, "\" is already upstreams[", it->second, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckUpstreamTls(const std::string& field, const RouteConfig& route) {
  if (!route.upstream_tls) {
    return absl::OkStatus();
  }
  if (route.action == RouteAction::kRespond) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a RESPOND route has no upstreams to speak TLS to"));
  }
  if (route.upstream_protocol == UpstreamProtocol::kH2c) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": H2C is HTTP/2 in clear; HTTP/2 over TLS is H2"));
  }
  const UpstreamTlsConfig& tls = *route.upstream_tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cert_file and key_file go together (a client certificate)"));
  }
  return absl::OkStatus();
}

absl::Status CheckRoute(const std::string& field, const RouteConfig& route) {
  const std::string prefix_field = absl::StrCat(field, ".prefix");
  if (route.prefix.empty() || route.prefix.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix_field, ": \"", absl::CEscape(route.prefix), "\" must start with '/'"));
  }
  // Compared with request targets, which hold visible bytes only: a prefix with a space or
  // a control byte could never match, so it is surely a mistake.
  if (!http_syntax::IsVisible(route.prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix_field, ": \"", absl::CEscape(route.prefix),
                     "\" has a space or control character (a request target has none)"));
  }
  absl::Status status;
  status.Update(CheckCount(absl::StrCat(prefix_field, " (bytes)"), route.prefix.size(), 1,
                           RouteBounds::kMaxPrefixBytes));
  status.Update(CheckUpstreams(absl::StrCat(field, ".upstreams"), route));
  if (route.delay) {
    status.Update(
        CheckDuration(absl::StrCat(field, ".delay"), *route.delay, 0, ConfigBounds::kMaxDelay));
  }
  status.Update(CheckCount(absl::StrCat(field, ".delay_percent"), route.delay_percent, 0, 100));
  for (auto [name, value] : {std::pair{".connect_timeout", route.connect_timeout},
                             std::pair{".first_byte_timeout", route.first_byte_timeout},
                             std::pair{".total_timeout", route.total_timeout}}) {
    status.Update(CheckDuration(absl::StrCat(field, name), value, RouteBounds::kMinTimeout,
                                RouteBounds::kMaxTimeout));
  }
  status.Update(CheckUpstreamTls(absl::StrCat(field, ".upstream_tls"), route));
  return status;
}

absl::Status CheckRoutes(const std::vector<RouteConfig>& routes) {
  if (absl::Status count = CheckCount("routes (count)", routes.size(), 0, RouteBounds::kMaxRoutes);
      !count.ok()) {
    return count;
  }
  std::unordered_map<std::string_view, size_t> prefixes;
  for (size_t i = 0; i < routes.size(); ++i) {
    const std::string field = absl::StrCat("routes[", i, "]");
    if (absl::Status status = CheckRoute(field, routes[i]); !status.ok()) {
      return status;
    }
    if (auto [it, inserted] = prefixes.emplace(routes[i].prefix, i); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".prefix: \"", routes[i].prefix,
                                                     "\" is already routes[", it->second,
                                                     "]'s prefix"));
    }
  }
  return absl::OkStatus();
}

// A rule aimed at a route or an upstream the config does not have could never fire: surely
// a mistake (a rule set before its route is refused, not left dormant).
absl::Status CheckFaultTargets(const NodeConfig& c) {
  for (size_t i = 0; i < c.faults.size(); ++i) {
    const FaultMatch& match = c.faults[i].match;
    if (!match.route.empty() &&
        std::none_of(c.routes.begin(), c.routes.end(),
                     [&](const RouteConfig& route) { return route.prefix == match.route; })) {
      return absl::InvalidArgumentError(
          absl::StrCat("faults[", i, "].match.route: \"", match.route, "\" is no route's prefix"));
    }
    if (!match.upstream.empty() &&
        std::none_of(c.routes.begin(), c.routes.end(), [&](const RouteConfig& route) {
          return std::find(route.upstreams.begin(), route.upstreams.end(),
                           Upstream{.address = match.upstream, .resolved = {}}) !=
                 route.upstreams.end();
        })) {
      return absl::InvalidArgumentError(absl::StrCat("faults[", i, "].match.upstream: \"",
                                                     match.upstream, "\" is no route's upstream"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string HostPortProblem(std::string_view address, bool allow_port_zero) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return "no :port";
  }
  std::string_view host = address.substr(0, colon);
  std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port < (allow_port_zero ? 0u : 1u) || port > 65535) {
    return allow_port_zero ? "port must be 0-65535" : "port must be 1-65535";
  }
  if (host.empty()) {
    return "no host";
  }
  if (host.front() == '[') {
    in6_addr ignored{};
    std::string literal(host.substr(1, host.size() - 1 - (host.back() == ']' ? 1 : 0)));
    if (host.size() < 2 || host.back() != ']' ||
        inet_pton(AF_INET6, literal.c_str(), &ignored) != 1) {
      return "bad [IPv6] literal";
    }
    return "";
  }
  in6_addr unbracketed{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &unbracketed) == 1) {
    return "an IPv6 host needs brackets, e.g. [::1]:8080";
  }
  for (char c : host) {
    bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_';
    if (!name_char) {
      return "host must be a name or an IP literal";
    }
  }
  return "";
}

std::string FormatDuration(Nanos duration) {
  return absl::FormatDuration(absl::Nanoseconds(duration));
}

absl::Status ValidateConfig(const NodeConfig& c) {
  absl::Status status;
  status.Update(CheckDuration("delay", c.delay, 0, ConfigBounds::kMaxDelay));
  status.Update(CheckCount("body (bytes)", c.body.size(), 0, ConfigBounds::kMaxBodyBytes));
  status.Update(CheckCount("workers", c.workers, 1, ConfigBounds::kMaxWorkers));
  status.Update(CheckCount("max_connections", c.max_connections, 0, ConfigBounds::kMaxConnections));
  status.Update(CheckCount("max_pending", c.max_pending, 0, ConfigBounds::kMaxConnections));
  status.Update(CheckCount("rate_limit", c.rate_limit, 0, ConfigBounds::kMaxRateLimit));
  status.Update(CheckDuration("header_timeout", c.header_timeout, ConfigBounds::kMinTimeout,
                              ConfigBounds::kMaxHeaderTimeout));
  status.Update(CheckDuration("idle_timeout", c.idle_timeout, ConfigBounds::kMinTimeout,
                              ConfigBounds::kMaxIdleTimeout));
  status.Update(CheckCount("max_header_bytes", c.max_header_bytes, ConfigBounds::kMinHeaderBytes,
                           ConfigBounds::kMaxHeaderBytes));
  status.Update(
      CheckCount("max_body_bytes", c.max_body_bytes, 0, ConfigBounds::kMaxRequestBodyBytes));
  status.Update(CheckRoutes(c.routes));
  status.Update(ValidateFaultRules(c.faults));
  status.Update(CheckFaultTargets(c));
  status.Update(ValidateTcpProxies(c.tcp_proxies));
  status.Update(
      CheckCount("max_active_faults", c.max_active_faults, 0, ConfigBounds::kMaxConnections));
  return status;  // Update() keeps the first error
}

}  // namespace proxynode
