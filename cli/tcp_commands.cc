// tcp add / list / remove / enable / disable / update: the node's TCP proxies, one at a time
// (issue 19). Each change is that node's own read-modify-write of the list (tcp_update.h).

#include "cli/tcp_commands.h"

#include <optional>

#include "cli/fault_values.h"
#include "cli/fleet.h"
#include "cli/tcp_list_edit.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using proxynode::v1::TcpProxy;
using proxynode::v1::Toxic;

// "HOST:PORT" for `flag`: a port after the last ':' (the node resolves the host).
absl::Status CheckAddress(std::string_view flag, const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size() ||
      !ParseCount(address.substr(colon + 1))) {
    return FlagError(flag, address, "must be HOST:PORT, e.g. 127.0.0.1:15432 or db:5432");
  }
  return absl::OkStatus();
}

// --connect-timeout onto `proxy` when given.
absl::Status SetConnectTimeout(const std::string& text, TcpProxy& proxy) {
  if (text.empty()) return absl::OkStatus();
  absl::StatusOr<google::protobuf::Duration> timeout =
      ParseFlagDuration("--connect-timeout", text, true);
  if (!timeout.ok()) return timeout.status();
  *proxy.mutable_connect_timeout() = *timeout;
  return absl::OkStatus();
}

int UsageError(const absl::Status& status) {
  PrintError(std::string(status.message()));
  return kExitUsage;
}

std::string ToxicNames(const TcpProxy& proxy) {
  std::string names;
  for (const Toxic& toxic : proxy.toxics()) {
    if (!names.empty()) names += ',';
    names += toxic.name();
  }
  return names.empty() ? "-" : names;
}

}  // namespace

int RunTcpAdd(const Context& context, const TcpAddOptions& options) {
  TcpProxy proxy;
  proxy.set_name(options.name);
  proxy.set_listen(options.listen);
  proxy.set_upstream(options.upstream);
  if (options.disabled) proxy.set_enabled(false);
  for (const absl::Status& status :
       {CheckAddress("--listen", options.listen), CheckAddress("--upstream", options.upstream),
        SetConnectTimeout(options.connect_timeout, proxy)}) {
    if (!status.ok()) return UsageError(status);
  }
  return RunTcpChange(context, options.change, "added TCP proxy " + options.name,
                      [&proxy](TcpProxies& proxies) { return AddTcpProxy(proxies, proxy); });
}

int RunTcpRemove(const Context& context, const TcpNameOptions& options) {
  return RunTcpChange(
      context, options.change, "removed TCP proxy " + options.name,
      [&options](TcpProxies& proxies) { return RemoveTcpProxy(proxies, options.name); });
}

int RunTcpEnable(const Context& context, const TcpNameOptions& options, bool enable) {
  return RunTcpChange(context, options.change,
                      (enable ? "enabled TCP proxy " : "disabled TCP proxy ") + options.name,
                      [&options, enable](TcpProxies& proxies) {
                        absl::StatusOr<TcpProxy*> proxy = FindTcpProxy(proxies, options.name);
                        if (!proxy.ok()) return proxy.status();
                        // Unset is enabled: leave it unset rather than make a diff of nothing.
                        if (IsEnabled(**proxy) != enable) (*proxy)->set_enabled(enable);
                        return absl::OkStatus();
                      });
}

int RunTcpUpdate(const Context& context, const TcpUpdateFlags& options) {
  if (options.listen.empty() && options.upstream.empty() && options.connect_timeout.empty()) {
    return UsageError(absl::InvalidArgumentError(
        "tcp update: nothing to change; give --listen, --upstream or --connect-timeout"));
  }
  TcpProxy changes;
  for (const absl::Status& status :
       {options.listen.empty() ? absl::OkStatus() : CheckAddress("--listen", options.listen),
        options.upstream.empty() ? absl::OkStatus() : CheckAddress("--upstream", options.upstream),
        SetConnectTimeout(options.connect_timeout, changes)}) {
    if (!status.ok()) return UsageError(status);
  }
  return RunTcpChange(context, options.change, "updated TCP proxy " + options.name,
                      [&options, &changes](TcpProxies& proxies) {
                        absl::StatusOr<TcpProxy*> proxy = FindTcpProxy(proxies, options.name);
                        if (!proxy.ok()) return proxy.status();
                        if (!options.listen.empty()) (*proxy)->set_listen(options.listen);
                        if (!options.upstream.empty()) (*proxy)->set_upstream(options.upstream);
                        if (changes.has_connect_timeout()) {
                          *(*proxy)->mutable_connect_timeout() = changes.connect_timeout();
                        }
                        return absl::OkStatus();
                      });
}

int RunTcpList(const Context& context) {
  const Row headers = {"NAME", "LISTEN", "UPSTREAM", "ENABLED", "TOXICS"};
  return RunOnNodes(context, headers, [&context, &headers](NodeClient& client) {
    NodeReport report;
    NodeConfig config;
    report.outcome = client.GetConfig(&config);
    if (!report.outcome.ok()) return report;
    std::string json_proxies = "[";
    for (const TcpProxy& proxy : config.tcp_proxies()) {
      report.rows.push_back({proxy.name(), proxy.listen(), proxy.upstream(),
                             IsEnabled(proxy) ? "yes" : "no", ToxicNames(proxy)});
      if (json_proxies.size() > 1) json_proxies += ',';  // not ("," or "") + ...: -Wrestrict
      json_proxies += ToJson(proxy);
    }
    json_proxies += ']';
    report.json = JsonObject(
        {{"config_version", std::to_string(config.version())}, {"tcp_proxies", json_proxies}});
    if (config.tcp_proxies().empty()) {
      report.text = "no TCP proxies on " + client.address() + "\n";
      report.rows.push_back({"no TCP proxies"});
    } else if (!context.all) {
      Table table(headers);
      for (const Row& row : report.rows) table.AddRow(row);
      report.text = table.Render();
    }
    return report;
  });
}

}  // namespace proxyctl
