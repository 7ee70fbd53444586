// toxic add / update / remove / list: a TCP proxy's toxics (issue 19), with toxiproxy-cli's
// argument shapes. Each change is a read-modify-write of the node's proxy list
// (tcp_update.h); the list shows each toxic with its counters from GetStats.

#include <map>

#include "cli/fleet.h"
#include "cli/tcp_commands.h"
#include "cli/tcp_list_edit.h"
#include "cli/toxic_format.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using proxynode::v1::Stats;
using proxynode::v1::TcpProxy;
using proxynode::v1::Toxic;
using proxynode::v1::ToxicStats;

int UsageError(const absl::Status& status) {
  PrintError(std::string(status.message()));
  return kExitUsage;
}

std::string Toxicity(const Toxic& toxic) {
  return JsonNumber(toxic.has_toxicity() ? toxic.toxicity() : 1);
}

}  // namespace

int RunToxicAdd(const Context& context, const ToxicAddOptions& options) {
  if (options.spec.upstream && options.downstream) {
    return UsageError(absl::InvalidArgumentError(
        "--upstream and --downstream exclude each other: a toxic acts on one direction"));
  }
  absl::StatusOr<Toxic> toxic = BuildToxic(options.spec);
  if (!toxic.ok()) return UsageError(toxic.status());
  return RunTcpChange(context, options.change,
                      "added toxic " + toxic->name() + " to TCP proxy " + options.proxy,
                      [&options, &toxic](TcpProxies& proxies) {
                        absl::StatusOr<TcpProxy*> proxy = FindTcpProxy(proxies, options.proxy);
                        if (!proxy.ok()) return proxy.status();
                        return AddToxic(**proxy, *toxic);
                      });
}

int RunToxicUpdate(const Context& context, const ToxicUpdateOptions& options) {
  if (options.attributes.empty() && options.toxicity.empty()) {
    return UsageError(absl::InvalidArgumentError(
        "toxic update: nothing to change; give -a KEY=VALUE or --toxicity"));
  }
  // The syntax of --toxicity and the attribute names are checked before any node is asked;
  // the values need the toxic's type, which the node's config has.
  for (const std::string& assignment : SplitAttributes(options.attributes)) {
    if (absl::Status status = CheckAttributeName(assignment); !status.ok()) {
      return UsageError(status);
    }
  }
  if (!options.toxicity.empty()) {
    if (absl::StatusOr<double> toxicity = ParseToxicity(options.toxicity); !toxicity.ok()) {
      return UsageError(toxicity.status());
    }
  }
  return RunTcpChange(context, options.change,
                      "updated toxic " + options.name + " of TCP proxy " + options.proxy,
                      [&options](TcpProxies& proxies) {
                        absl::StatusOr<TcpProxy*> proxy = FindTcpProxy(proxies, options.proxy);
                        if (!proxy.ok()) return proxy.status();
                        absl::StatusOr<Toxic*> toxic = FindToxic(**proxy, options.name);
                        if (!toxic.ok()) return toxic.status();
                        return UpdateToxic(**toxic, options.attributes, options.toxicity);
                      });
}

int RunToxicRemove(const Context& context, const ToxicRemoveOptions& options) {
  return RunTcpChange(context, options.change,
                      "removed toxic " + options.name + " from TCP proxy " + options.proxy,
                      [&options](TcpProxies& proxies) {
                        absl::StatusOr<TcpProxy*> proxy = FindTcpProxy(proxies, options.proxy);
                        if (!proxy.ok()) return proxy.status();
                        return RemoveToxic(**proxy, options.name);
                      });
}

int RunToxicList(const Context& context, const ToxicListOptions& options) {
  const Row headers = {"PROXY",    "TOXIC",   "TYPE",    "STREAM",
                       "TOXICITY", "APPLIED", "SKIPPED", "ATTRIBUTES"};
  return RunOnNodes(context, headers, [&](NodeClient& client) {
    NodeReport report;
    NodeConfig config;
    Stats stats;
    report.outcome = client.GetConfig(&config);
    if (report.outcome.ok()) report.outcome = client.GetStats(&stats);
    if (!report.outcome.ok()) return report;
    if (!options.proxy.empty()) {
      absl::StatusOr<TcpProxy*> found = FindTcpProxy(*config.mutable_tcp_proxies(), options.proxy);
      if (!found.ok()) {
        report.outcome = Outcome::Failure(kExitRefused, std::string(found.status().message()));
        return report;
      }
    }
    // Counters by proxy and toxic name; a toxic the node has none for yet shows 0.
    std::map<std::pair<std::string, std::string>, ToxicStats> counters;
    for (const proxynode::v1::TcpProxyStats& proxy_stats : stats.tcp_proxies()) {
      for (const ToxicStats& toxic_stats : proxy_stats.toxics()) {
        counters[{proxy_stats.name(), toxic_stats.name()}] = toxic_stats;
      }
    }
    std::string json_toxics = "[";
    for (const TcpProxy& proxy : config.tcp_proxies()) {
      if (!options.proxy.empty() && proxy.name() != options.proxy) continue;
      for (const Toxic& toxic : proxy.toxics()) {
        ToxicStats& toxic_stats = counters[{proxy.name(), toxic.name()}];
        toxic_stats.set_name(toxic.name());
        toxic_stats.set_type(ToxicTypeName(toxic));
        std::string attributes = FormatToxicAttributes(toxic);
        report.rows.push_back(
            {proxy.name(), toxic.name(), ToxicTypeName(toxic), StreamName(toxic.stream()),
             Toxicity(toxic), std::to_string(toxic_stats.applied()),
             std::to_string(toxic_stats.skipped()), attributes.empty() ? "-" : attributes});
        if (json_toxics.size() > 1) json_toxics += ',';  // not ("," or "") + ...: -Wrestrict
        json_toxics += JsonObject({{"proxy", JsonString(proxy.name())},
                                   {"toxic", ToJson(toxic)},
                                   {"stats", ToJson(toxic_stats)}});
      }
    }
    json_toxics += ']';
    report.json =
        JsonObject({{"config_version", std::to_string(config.version())}, {"toxics", json_toxics}});
    if (report.rows.empty()) {
      std::string where = options.proxy.empty() ? "" : " of TCP proxy " + options.proxy;
      report.text = "no toxics" + where + " on " + client.address() + "\n";
      report.rows.push_back({"no toxics"});
    } else if (!context.all) {
      Table table(headers);
      for (const Row& row : report.rows) table.AddRow(row);
      report.text = table.Render();
    }
    return report;
  });
}

}  // namespace proxyctl
