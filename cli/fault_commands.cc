// fault add / list / remove / clear: the node's fault rules, rule by rule (issue 18). Like
// `config set`, every command runs on each node --all names, and each edit is that node's
// own read-modify-write (fault_update.h).

#include <map>

#include "cli/commands.h"
#include "cli/fault_format.h"
#include "cli/fault_update.h"
#include "cli/fleet.h"

namespace proxyctl {
namespace {

using proxynode::v1::FaultRule;
using proxynode::v1::FaultRuleStats;
using proxynode::v1::NodeConfig;
using proxynode::v1::Stats;

// Commas appended on their own, not ("," or "") + text: GCC 12 at -O3 takes that for an
// overlapping copy (-Wrestrict, a false positive: GCC bug 105329) and fails Release builds.
std::string JsonStrings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ',';
    out += JsonString(item);
  }
  return out + "]";
}

std::string Rules(size_t count) { return count == 1 ? "fault rule" : "fault rules"; }

// What an edit did, for the text, the --all row and the JSON alike.
NodeReport EditReport(const std::string& result, const NodeConfig& config, const std::string& text,
                      const std::string& cell,
                      const std::pair<std::string, std::string>& json_member) {
  NodeReport report;
  const std::string version = std::to_string(config.version());
  report.rows.push_back({result, version, cell});
  report.text = text + ": config version " + version + "\n";
  report.json =
      JsonObject({{"result", JsonString(result)}, {"config_version", version}, json_member});
  return report;
}

// The rule named `name` in `config`, as the node keeps it (expires_after made expires_at).
const FaultRule* FindRule(const NodeConfig& config, const std::string& name) {
  for (const FaultRule& rule : config.faults()) {
    if (rule.name() == name) return &rule;
  }
  return nullptr;
}

// One list row: NAME MATCH FAULTS PERCENT HITS LEFT. HITS is fired/matched; a rule the
// node has no counters for yet shows 0/0.
Row ListRow(const FaultRule& rule, const FaultRuleStats& stats, absl::Time now) {
  return {rule.name(),
          FormatFaultMatch(rule.match()),
          FormatFaults(rule),
          FormatPercent(rule),
          std::to_string(stats.fired()) + "/" + std::to_string(stats.matched()),
          FormatTimeLeft(rule, now)};
}

}  // namespace

int RunFaultAdd(const Context& context, const FaultAddOptions& options) {
  absl::StatusOr<FaultRule> rule = BuildFaultRule(options, absl::Now());
  if (!rule.ok()) {
    PrintError(std::string(rule.status().message()));
    return kExitUsage;
  }
  return RunOnNodes(context, {"RESULT", "VERSION", "RULE"}, [&](NodeClient& client) {
    bool replaced = false;
    FaultUpdate update;
    Outcome outcome = UpdateFaults(
        client, options.expected_version,
        [&](FaultRules& rules) { return PutFaultRule(rules, *rule, options.replace, &replaced); },
        &update);
    if (!outcome.ok()) return NodeReport{outcome, "", "", {}};
    const FaultRule* applied = FindRule(update.applied, rule->name());
    const FaultRule shown = applied != nullptr ? *applied : *rule;
    const std::string result = !update.changed ? "unchanged" : replaced ? "replaced" : "added";
    const std::string summary = FormatFaultSummary(shown, absl::Now());
    return EditReport(
        result, update.applied,
        result + " fault rule " + shown.name() + " on " + client.address() + " (" + summary + ")",
        shown.name() + ": " + summary, {"rule", ToJson(shown)});
  });
}

int RunFaultList(const Context& context) {
  const Row headers = {"NAME", "MATCH", "FAULTS", "PERCENT", "HITS", "LEFT"};
  return RunOnNodes(context, headers, [&context, &headers](NodeClient& client) {
    NodeReport report;
    NodeConfig config;
    Stats stats;
    report.outcome = client.GetConfig(&config);
    if (report.outcome.ok()) report.outcome = client.GetStats(&stats);
    if (!report.outcome.ok()) return report;
    std::map<std::string, FaultRuleStats> counters;
    for (const FaultRuleStats& rule_stats : stats.faults())
      counters[rule_stats.name()] = rule_stats;
    // Time left by the node's clock (it removes the rule by it), not this machine's.
    const absl::Time now = stats.has_time() ? absl::FromUnixSeconds(stats.time().seconds()) +
                                                  absl::Nanoseconds(stats.time().nanos())
                                            : absl::Now();
    std::string json_rules = "[";
    for (const FaultRule& rule : config.faults()) {
      FaultRuleStats& rule_stats = counters[rule.name()];
      rule_stats.set_name(rule.name());
      report.rows.push_back(ListRow(rule, rule_stats, now));
      if (json_rules.size() > 1) json_rules += ',';  // see JsonStrings
      json_rules += JsonObject({{"rule", ToJson(rule)}, {"stats", ToJson(rule_stats)}});
    }
    report.json = JsonObject(
        {{"config_version", std::to_string(config.version())}, {"rules", json_rules + "]"}});
    if (config.faults().empty()) {
      report.text = "no fault rules on " + client.address() + "\n";
      report.rows.push_back({"no fault rules"});
    } else if (!context.all) {
      Table table(headers);
      for (const Row& row : report.rows) table.AddRow(row);
      report.text = table.Render();
    }
    return report;
  });
}

int RunFaultRemove(const Context& context, const FaultRemoveOptions& options) {
  std::vector<std::string> names;  // as given, each once
  for (const std::string& name : options.names) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return RunOnNodes(context, {"RESULT", "VERSION", "RULES"}, [&](NodeClient& client) {
    FaultUpdate update;
    Outcome outcome = UpdateFaults(
        client, options.expected_version,
        [&names](FaultRules& rules) { return RemoveFaultRules(rules, names); }, &update);
    if (!outcome.ok()) return NodeReport{outcome, "", "", {}};
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
    return EditReport("removed", update.applied,
                      "removed " + Rules(names.size()) + " " + joined + " from " + client.address(),
                      joined, {"rules", JsonStrings(names)});
  });
}

int RunFaultClear(const Context& context, const FaultClearOptions& options) {
  return RunOnNodes(context, {"RESULT", "VERSION", "RULES"}, [&](NodeClient& client) {
    std::vector<std::string> names;
    FaultUpdate update;
    Outcome outcome = UpdateFaults(
        client, options.expected_version,
        [&names](FaultRules& rules) {
          names.clear();  // each attempt reads the list again
          for (const FaultRule& rule : rules) names.push_back(rule.name());
          rules.Clear();
          return absl::OkStatus();
        },
        &update);
    if (!outcome.ok()) return NodeReport{outcome, "", "", {}};
    std::string joined = FaultRuleNames(update.read.faults());
    std::string text = update.changed
                           ? "cleared " + std::to_string(names.size()) + " " + Rules(names.size()) +
                                 " (" + joined + ") on " + client.address()
                           : "no fault rules on " + client.address();
    return EditReport(update.changed ? "cleared" : "unchanged", update.applied, text, joined,
                      {"rules", JsonStrings(names)});
  });
}

}  // namespace proxyctl
