#include "dataplane/config/tcp_proxy_config.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/fault/fault_rule.h"

namespace proxynode {
namespace {

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckProxy(const TcpProxyConfig& proxy, const std::string& field) {
  if (std::string problem = HostPortProblem(proxy.listen, /*allow_port_zero=*/true);
      !problem.empty()) {
    return Invalid(field + ".listen", absl::StrCat("\"", absl::CEscape(proxy.listen),
                                                   "\" is not host:port (", problem, ")"));
  }
  if (std::string problem = HostPortProblem(proxy.upstream); !problem.empty()) {
    return Invalid(field + ".upstream", absl::StrCat("\"", absl::CEscape(proxy.upstream),
                                                     "\" is not host:port (", problem, ")"));
  }
  if (proxy.connect_timeout < TcpProxyBounds::kMinTimeout ||
      proxy.connect_timeout > TcpProxyBounds::kMaxTimeout) {
    return Invalid(field + ".connect_timeout",
                   absl::StrCat(absl::FormatDuration(absl::Nanoseconds(proxy.connect_timeout)),
                                " is out of range [1ms, 1h]"));
  }
  return ValidateToxics(proxy.toxics, field);
}

}  // namespace

absl::Status ValidateTcpProxies(const std::vector<TcpProxyConfig>& proxies) {
  if (proxies.size() > TcpProxyBounds::kMaxProxies) {
    return Invalid("tcp_proxies",
                   absl::StrCat(proxies.size(), " proxies; at most ", TcpProxyBounds::kMaxProxies));
  }
  absl::flat_hash_set<std::string_view> names;
  absl::flat_hash_set<std::string_view> listens;
  for (const TcpProxyConfig& proxy : proxies) {
    if (!IsResourceName(proxy.name)) {
      return Invalid("tcp_proxies.name",
                     absl::StrCat("\"", absl::CEscape(proxy.name),
                                  "\" must be 1-64 characters of A-Z a-z 0-9 . _ -"));
    }
    const std::string field = absl::StrCat("tcp_proxies[", proxy.name, "]");
    if (!names.insert(proxy.name).second) {
      return Invalid(field, "the name is used twice");
    }
    if (absl::Status status = CheckProxy(proxy, field); !status.ok()) return status;
    // Port 0 asks for a new port each time: two of them do not clash.
    if (!proxy.listen.ends_with(":0") && !listens.insert(proxy.listen).second) {
      return Invalid(field + ".listen",
                     absl::StrCat("\"", proxy.listen, "\" is another proxy's listen address"));
    }
  }
  return absl::OkStatus();
}

}  // namespace proxynode
