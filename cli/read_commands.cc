// status, stats, connections, version: read-only commands.

#include <algorithm>
#include <thread>

#include "cli/commands.h"
#include "cli/fleet.h"
#include "cli/stats_view.h"
#include "cli/units.h"
#include "cli/update_report.h"
#include "common/build_info.h"

namespace proxyctl {
namespace {

using proxynode::v1::Connection;
using proxynode::v1::ListConnectionsResponse;
using proxynode::v1::Stats;

// Rates need two samples; half a second keeps `status` quick and is long enough to count
// a few requests on a node that is serving.
constexpr std::chrono::milliseconds kSampleInterval{500};

// Two GetStats kSampleInterval apart; `after` gets the rate fields filled.
// Two WatchStats messages kSampleInterval apart: the second carries the interval's latency.
Outcome Sample(NodeClient& client, Stats* before, Stats* after) {
  int received = 0;
  Outcome outcome = client.WatchStats(kSampleInterval, [&](const Stats& stats) {
    *(received++ == 0 ? before : after) = stats;
    return received < 2;
  });
  if (!outcome.ok()) return outcome;
  if (received < 2) return Outcome::Failure(kExitUnreachable, "the stats stream ended early");
  FillRates(*before, *after);
  return Outcome{};
}

double UptimeSeconds(const Stats& stats) {
  return static_cast<double>(ToNanos(stats.uptime())) / 1e9;
}

// The node's build in one table cell, semver style: "0.1.0+1a2b3c4d5e6f"; "-" from a node
// that does not say (older than its build field).
std::string NodeVersionCell(const Stats& stats) {
  const proxynode::v1::BuildInfo& build = stats.build();
  if (build.version().empty()) return "-";
  return build.commit().empty() ? build.version() : build.version() + "+" + build.commit();
}

// "0.1.0 (commit 1a2b3c4d5e6f, RelWithDebInfo)", as the node's --version says it.
std::string NodeBuildText(const Stats& stats) {
  const proxynode::v1::BuildInfo& build = stats.build();
  if (build.version().empty()) return "version unknown (built before nodes reported it)";
  return build.version() + " (commit " + build.commit() + ", " + build.build_type() + ")";
}

// node_version, commit and build_type members for a JSON object.
std::vector<std::pair<std::string, std::string>> NodeBuildMembers(const Stats& stats) {
  return {{"node_version", JsonString(stats.build().version())},
          {"commit", JsonString(stats.build().commit())},
          {"build_type", JsonString(stats.build().build_type())}};
}

}  // namespace

std::string ClientVersion() { return proxynode::BuildSummary(); }

int RunStatus(const Context& context) {
  return RunOnNodes(
      context, {"STATUS", "VERSION", "NODE_VERSION", "UPTIME", "WORKERS", "CONNECTIONS", "REQ/S"},
      [&context](NodeClient& client) {
        NodeReport report;
        Stats before, after;
        report.outcome = Sample(client, &before, &after);
        if (!report.outcome.ok()) return report;
        proxynode::v1::GetConfigResponse config;
        if (client.GetConfig(&config).ok()) {
          report.note = WatchedFileNote(client.address(), config.watched_config_file());
        }
        report.rows.push_back({NodeState(after), std::to_string(after.config_version()),
                               NodeVersionCell(after), FormatUptime(ToNanos(after.uptime())),
                               std::to_string(after.workers()),
                               std::to_string(after.total().connections_active()),
                               FormatRate(after.requests_per_second())});
        std::vector<std::pair<std::string, std::string>> members;
        if (!context.all) members.push_back({"addr", JsonString(client.address())});
        members.insert(members.end(), {{"status", JsonString(NodeState(after))},
                                       {"config_version", std::to_string(after.config_version())}});
        for (auto& member : NodeBuildMembers(after)) members.push_back(std::move(member));
        members.insert(members.end(),
                       {{"uptime_seconds", JsonNumber(UptimeSeconds(after))},
                        {"workers", std::to_string(after.workers())},
                        {"connections", std::to_string(after.total().connections_active())},
                        {"requests_per_second", JsonNumber(after.requests_per_second())}});
        report.json = JsonObject(members);
        return report;
      });
}

int RunStats(const Context& context) {
  return RunOnNodes(
      context, {"UPTIME", "CONNECTIONS", "REQUESTS", "REQ/S", "2XX", "4XX", "5XX", "P50", "P99"},
      [](NodeClient& client) {
        NodeReport report;
        Stats before, after;
        report.outcome = Sample(client, &before, &after);
        if (!report.outcome.ok()) return report;
        const auto& total = after.total();
        report.rows.push_back(
            {FormatUptime(ToNanos(after.uptime())), std::to_string(total.connections_active()),
             std::to_string(total.requests()), FormatRate(after.requests_per_second()),
             std::to_string(total.responses_2xx()), std::to_string(total.responses_4xx()),
             std::to_string(total.responses_5xx()),
             Percentile(after.request_latency(), after.request_latency().p50()),
             Percentile(after.request_latency(), after.request_latency().p99())});
        report.text = RenderStats(after, &before, {client.address(), false});
        report.json = ToJson(after);
        return report;
      });
}

int RunConnections(const Context& context, const ConnectionsOptions& options) {
  Row headers = {"ID", "PEER", "WORKER", "AGE", "REQUESTS", "STATE", "BYTES_IN", "BYTES_OUT"};
  // Several nodes share one table, whose columns are set before any answers: there the PROTO
  // and PROXY columns are always present.
  if (context.all) {
    headers.push_back("PROTO");
    headers.push_back("PROXY");
  }
  return RunOnNodes(context, headers, [&context, &options, &headers](NodeClient& client) {
    NodeReport report;
    ListConnectionsResponse response;
    // The node returns the oldest first and cuts there; another order must see them all.
    bool by_age = options.sort == "age";
    report.outcome = client.ListConnections(by_age ? options.limit : 0, &response);
    if (!report.outcome.ok()) return report;
    auto* rows = response.mutable_connections();
    auto key = [&options](const Connection& c) -> int64_t {
      if (options.sort == "requests") return static_cast<int64_t>(c.requests());
      if (options.sort == "bytes_in") return static_cast<int64_t>(c.bytes_in());
      if (options.sort == "bytes_out") return static_cast<int64_t>(c.bytes_out());
      if (options.sort == "worker") return -c.worker();  // ascending below
      return ToNanos(c.age());
    };
    // Largest first (oldest, busiest), ties in the node's order; workers ascending.
    std::stable_sort(rows->begin(), rows->end(),
                     [&key](const Connection& a, const Connection& b) { return key(a) > key(b); });
    if (options.limit != 0 && static_cast<uint32_t>(rows->size()) > options.limit) {
      rows->DeleteSubrange(static_cast<int>(options.limit),
                           rows->size() - static_cast<int>(options.limit));
    }
    // TCP relays add a PROXY column (proxy -> upstream); "-" on HTTP connections. On one node
    // only where there are relays, so an HTTP node's view stays as it was.
    const bool relays =
        context.all || std::any_of(rows->begin(), rows->end(),
                                   [](const Connection& c) { return !c.tcp_proxy().empty(); });
    // A PROTO column (h2c, h2 over TLS with its version) likewise only where a connection
    // speaks something else than HTTP/1.1 in clear.
    const bool protocols =
        context.all || std::any_of(rows->begin(), rows->end(), [](const Connection& c) {
          return (!c.protocol().empty() && c.protocol() != "http/1.1") || !c.tls_version().empty();
        });
    for (const Connection& c : *rows) {
      report.rows.push_back({std::to_string(c.id()), c.peer(), std::to_string(c.worker()),
                             FormatDurationApprox(ToNanos(c.age())), std::to_string(c.requests()),
                             c.state(), FormatBytes(c.bytes_in()), FormatBytes(c.bytes_out())});
      if (protocols) {
        report.rows.back().push_back(c.protocol().empty() ? "-"
                                     : c.tls_version().empty()
                                         ? c.protocol()
                                         : c.protocol() + " " + c.tls_version());
      }
      if (relays) {
        report.rows.back().push_back(c.tcp_proxy().empty() ? "-"
                                                           : c.tcp_proxy() + " -> " + c.upstream());
      }
    }
    if (!context.all) {
      Row shown_headers = headers;
      if (protocols) shown_headers.push_back("PROTO");
      if (relays) shown_headers.push_back("PROXY");
      Table table(shown_headers);
      for (const Row& row : report.rows) table.AddRow(row);
      report.text = rows->empty() ? "" : table.Render();
      uint32_t shown_count = static_cast<uint32_t>(rows->size());
      std::string shown = std::to_string(shown_count);
      report.text +=
          shown_count == response.total()
              ? std::to_string(response.total()) + " open connections\n"
              : shown + " of " + std::to_string(response.total()) + " open connections shown\n";
    }
    report.json = ToJson(response);
    return report;
  });
}

int RunVersion(const Context* context) {
  const std::string client_line = "proxyctl " + ClientVersion() + "\n";
  if (context == nullptr) {
    PrintOut(client_line);
    return kExitOk;
  }
  const proxynode::BuildInfo& client_build = proxynode::ThisBuild();
  const std::vector<std::pair<std::string, std::string>> client_members = {
      {"client_version", JsonString(client_build.version)},
      {"client_commit", JsonString(client_build.commit)},
      {"client_build_type", JsonString(client_build.build_type)}};
  // The node's software, and its config version and uptime: which state it is in.
  auto node_members = [](const Stats& stats) {
    std::vector<std::pair<std::string, std::string>> members = NodeBuildMembers(stats);
    members.insert(members.end(), {{"config_version", std::to_string(stats.config_version())},
                                   {"uptime_seconds", JsonNumber(UptimeSeconds(stats))}});
    return members;
  };
  if (context->all) {
    if (!context->json) PrintOut(client_line);
    return RunOnNodes(
        *context, {"NODE_VERSION", "CONFIG_VERSION", "UPTIME"},
        [&node_members, &client_members](NodeClient& client) {
          NodeReport report;
          Stats stats;
          report.outcome = client.GetStats(&stats);
          if (!report.outcome.ok()) return report;
          report.rows.push_back({NodeVersionCell(stats), std::to_string(stats.config_version()),
                                 FormatUptime(ToNanos(stats.uptime()))});
          auto members = client_members;
          for (auto& member : node_members(stats)) members.push_back(member);
          report.json = JsonObject(members);
          return report;
        });
  }
  // One node: proxyctl's own version always, then the node's, or why it could not be had
  // (on stderr, and the exit code of the failure, as for any command that needs the node).
  NodeClient client(context->addresses.front(), context->timeout, context->transport);
  Stats stats;
  Outcome outcome = client.GetStats(&stats);
  if (context->json) {
    std::vector<std::pair<std::string, std::string>> members = client_members;
    if (outcome.ok()) {
      auto node = node_members(stats);
      node.insert(node.begin(), {"addr", JsonString(client.address())});
      members.push_back({"node", JsonObject(node)});
    } else {
      members.push_back({"node", "null"});
      members.push_back({"error", JsonString(outcome.error)});
    }
    PrintOut(JsonObject(members) + "\n");
  } else {
    PrintOut(client_line);
    if (outcome.ok()) {
      PrintOut("node " + client.address() + ": proxynode " + NodeBuildText(stats) +
               ", config version " + std::to_string(stats.config_version()) + ", uptime " +
               FormatUptime(ToNanos(stats.uptime())) + "\n");
    }
  }
  if (!outcome.ok()) {
    PrintError("node: " + outcome.error);
    return outcome.exit_code;
  }
  return kExitOk;
}

}  // namespace proxyctl
