#include "controlplane/upstream_flags.h"

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "dataplane/config/config_snapshot.h"

ABSL_FLAG(std::string, upstream, "",
          "Reverse-proxy quick start: HOST:PORT[,HOST:PORT...] (names resolved at start-up, "
          "[v6]:port for IPv6). Every path is proxied to this pool, round robin (one route "
          "\"/\"), and --delay defaults to 0s. Replaces the config file's routes; given empty, "
          "no routes (every path answered with --body)");
ABSL_FLAG(std::string, upstream_protocol, "http1",
          "What --upstream's servers speak: http1 (HTTP/1.1), https (HTTP/1.1 over TLS), h2c "
          "(HTTP/2 in clear with prior knowledge, as gRPC servers without TLS do) or h2 (HTTP/2 "
          "over TLS); HTTP/2 requests are forwarded only to h2c and h2 upstreams");
ABSL_FLAG(std::string, upstream_ca, "",
          "With --upstream_protocol https or h2: PEM file of the CAs that sign the upstreams' "
          "certificates (empty: the system's CAs)");

namespace proxynode {

bool OnCommandLine(const char* flag) {
  // Abseil 20220623 (Debian 12) exposes this only in its internal header; it is exactly
  // "the user gave this flag", which a comparison with the default cannot tell.
  return absl::flags_internal::WasPresentOnCommandLine(flag);
}

bool UpstreamFlagGiven() {
  return OnCommandLine("upstream") && !absl::GetFlag(FLAGS_upstream).empty();
}

std::vector<RouteConfig> UpstreamFlagRoutes() {
  const std::string pool = absl::GetFlag(FLAGS_upstream);
  if (pool.empty()) {
    return {};
  }
  RouteConfig route;
  route.prefix = "/";
  route.action = RouteAction::kProxy;
  route.balancing = LoadBalancing::kRoundRobin;
  const std::string protocol = absl::GetFlag(FLAGS_upstream_protocol);
  if (protocol == "h2c") {
    route.upstream_protocol = UpstreamProtocol::kH2c;
  } else if (protocol == "h2") {
    route.upstream_protocol = UpstreamProtocol::kH2;
  }
  if (protocol == "https" || protocol == "h2") {
    route.upstream_tls.emplace();
    route.upstream_tls->ca_file = absl::GetFlag(FLAGS_upstream_ca);
  }
  for (absl::string_view address : absl::StrSplit(pool, ',')) {
    route.upstreams.push_back(Upstream{std::string(address), {}});
  }
  return {route};
}

std::string UpstreamFlagError(const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, "routes[0].");
  return absl::StrCat("--upstream: ", message);
}

absl::Status CheckUpstreamFlag() {
  const std::string protocol = absl::GetFlag(FLAGS_upstream_protocol);
  if (protocol != "http1" && protocol != "https" && protocol != "h2c" && protocol != "h2") {
    return absl::InvalidArgumentError(
        absl::StrCat("--upstream_protocol: \"", protocol, "\" is not http1, https, h2c or h2"));
  }
  if (OnCommandLine("upstream_ca") && protocol != "https" && protocol != "h2") {
    return absl::InvalidArgumentError(
        "--upstream_ca: only with --upstream_protocol https or h2 (TLS to the upstreams)");
  }
  if (OnCommandLine("upstream_protocol") && !UpstreamFlagGiven()) {
    return absl::InvalidArgumentError(
        "--upstream_protocol: says what --upstream's servers speak; give --upstream too");
  }
  NodeConfig alone;
  alone.routes = UpstreamFlagRoutes();
  if (absl::Status status = ValidateConfig(alone); !status.ok()) {
    return absl::InvalidArgumentError(UpstreamFlagError(status));
  }
  return absl::OkStatus();
}

}  // namespace proxynode
