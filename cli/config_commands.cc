// config get / set / apply and drain: the commands that read or change a node's
// configuration or lifecycle.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/config_keys.h"
#include "cli/fleet.h"
#include "cli/stats_view.h"
#include "cli/suggest.h"
#include "cli/units.h"
#include "cli/update_report.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using proxynode::v1::UpdateConfigRequest;
using proxynode::v1::UpdateConfigResponse;

// A --all row keeps the body short; it can be up to 1 MiB.
constexpr size_t kBodyCellLimit = 24;

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Shortened(std::string text) {
  if (text.size() <= kBodyCellLimit) return text;
  return text.substr(0, kBodyCellLimit - 4) + "...\"";
}

// A key that sets another key's field (`upstream` sets routes): `config get` shows that one.
bool IsShorthand(const ConfigKey& key) { return FieldName(key) != key.name; }

// "0 (auto: 19872)" where the node runs another value than the one configured.
std::string WithEffective(std::string value, const proxynode::v1::GetConfigResponse& response,
                          const ConfigKey& key) {
  auto effective = response.effective_values().find(key.name);
  if (effective == response.effective_values().end()) return value;
  return value + " (auto: " + effective->second + ")";
}

// The routes, one per line in the VALUE column ("none" when there are none).
void AddRouteRows(const NodeConfig& config, Table& table) {
  std::vector<std::string> lines = FormatRoutes(config);
  if (lines.empty()) {
    table.AddRow({"routes", "none"});
    return;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    table.AddRow({i == 0 ? "routes" : "", lines[i]});
  }
}

// Sends one UpdateConfig to every node and reports what each did.
int Update(const Context& context, const UpdateConfigRequest& request) {
  return RunOnNodes(context, UpdateReportHeaders(), [&request](NodeClient& client) {
    UpdateConfigResponse response;
    NodeReport report;
    report.outcome = client.UpdateConfig(request, &response);
    if (!report.outcome.ok()) return report;
    NodeReport done = UpdateReport(client.address(), response, "applied");
    done.outcome = report.outcome;
    return done;
  });
}

// The file `options` names ("-": stdin) as an UpdateConfig: the whole config, or with
// --merge a patch of the fields it has. nullopt (after saying why) when it cannot be read.
std::optional<UpdateConfigRequest> FileRequest(const ConfigApplyOptions& options,
                                               bool quiet = false) {
  // Read once: the confirmation's dry run and the command itself both need it, and stdin
  // can be read only once.
  static std::map<std::string, std::optional<std::string>> read;
  auto [cached, first] = read.try_emplace(options.file);
  if (first) {
    std::stringstream text;
    if (options.file == "-") {
      text << std::cin.rdbuf();
      cached->second = text.str();
    } else if (std::ifstream file(options.file); file) {
      text << file.rdbuf();
      cached->second = text.str();
    }
  }
  if (!cached->second) {
    if (!quiet) PrintError(options.file + ": cannot read it");
    return std::nullopt;
  }
  absl::StatusOr<ConfigChange> change = ParseConfigText(*cached->second);
  if (!change.ok()) {
    if (!quiet) PrintError(options.file + ": " + std::string(change.status().message()));
    return std::nullopt;
  }
  UpdateConfigRequest request;
  *request.mutable_config() = change->config;
  if (options.merge) {
    *request.mutable_update_mask() = change->mask;
  } else {
    request.mutable_config()->clear_version();
    request.set_replace(true);
  }
  request.set_expected_version(options.expected_version);
  request.set_validate_only(options.dry_run);
  return request;
}

}  // namespace

int RunConfigGet(const Context& context, const ConfigGetOptions& options) {
  const ConfigKey* only = nullptr;
  if (!options.key.empty() && options.key != "version") {
    only = FindConfigKey(options.key);
    if (only == nullptr) {
      std::vector<std::string> keys = {"version"};
      for (const ConfigKey& key : ConfigKeys()) keys.push_back(key.name);
      PrintError(WithSuggestion(options.key + ": unknown key", options.key, keys) +
                 "; keys: version, " + ConfigKeyList());
      return kExitUsage;
    }
    only = FindConfigKey(FieldName(*only));  // `upstream` shows the routes it sets
  }
  bool version_only = options.key == "version";
  Row headers = {"VERSION"};
  if (only != nullptr) {
    headers.push_back("VALUE");
  } else if (!version_only) {
    // The body last: it is the widest and least aligned.
    for (const ConfigKey& key : ConfigKeys()) {
      if (key.kind != ConfigKey::Kind::kString && !IsShorthand(key)) {
        headers.push_back(Upper(key.name));
      }
    }
    headers.push_back("BODY");
  }
  return RunOnNodes(context, headers, [&](NodeClient& client) {
    NodeReport report;
    proxynode::v1::GetConfigResponse response;
    report.outcome = client.GetConfig(&response);
    if (!report.outcome.ok()) return report;
    NodeConfig& config = *response.mutable_config();
    report.note = WatchedFileNote(client.address(), response.watched_config_file());
    std::string version = std::to_string(config.version());
    if (version_only) {
      report.rows.push_back({version});
      report.text = version + "\n";
      NodeConfig shown;
      shown.set_version(config.version());
      report.json = ToJsonPresentFields(shown);
    } else if (only != nullptr) {
      std::string value = FormatConfigValue(config, *only);
      report.rows.push_back({version, value});
      report.text = value + "\n";
      if (only->kind == ConfigKey::Kind::kRoutes && config.routes_size() > 0) {
        report.text = "";
        for (const std::string& line : FormatRoutes(config)) report.text += line + "\n";
      }
      // Just that field (and the version): presence keeps the others out of the JSON.
      NodeConfig shown;
      shown.set_version(config.version());
      const auto* field = NodeConfig::descriptor()->FindFieldByName(only->name);
      std::vector<const google::protobuf::FieldDescriptor*> fields = {field};
      shown.GetReflection()->SwapFields(&config, &shown, fields);
      // Present fields only, but routes even when there are none ([]): it was asked for.
      // (Printing every field would add the other lists too, e.g. an empty faults.)
      bool empty_routes = only->kind == ConfigKey::Kind::kRoutes && shown.routes_size() == 0;
      bool empty_proxies =
          only->kind == ConfigKey::Kind::kTcpProxies && shown.tcp_proxies_size() == 0;
      report.json = empty_routes || empty_proxies
                        ? JsonObject({{"version", JsonString(version)}, {only->name, "[]"}})
                        : ToJsonPresentFields(shown);
    } else {
      Row row = {version};
      Table table({"KEY", "VALUE"});
      table.AddRow({"version", version});
      std::string body;
      for (const ConfigKey& key : ConfigKeys()) {
        if (IsShorthand(key)) continue;
        if (key.kind == ConfigKey::Kind::kRoutes) {
          AddRouteRows(config, table);
          row.push_back(std::to_string(config.routes_size()));
          continue;
        }
        if (key.kind == ConfigKey::Kind::kTcpProxies) {
          table.AddRow({key.name, FormatConfigValue(config, key)});
          row.push_back(std::to_string(config.tcp_proxies_size()));
          continue;
        }
        std::string value = WithEffective(FormatConfigValue(config, key), response, key);
        table.AddRow({key.name, value});
        if (key.kind == ConfigKey::Kind::kString) {
          body = Shortened(value);
        } else {
          row.push_back(value);
        }
      }
      row.push_back(body);
      report.rows.push_back(row);
      report.text = table.Render();
      report.json = ToJson(config);
    }
    return report;
  });
}

int RunConfigSet(const Context& context, const ConfigSetOptions& options) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(options.assignments);
  if (!change.ok()) {
    PrintError(std::string(change.status().message()));
    return kExitUsage;
  }
  UpdateConfigRequest request;
  *request.mutable_config() = change->config;
  *request.mutable_update_mask() = change->mask;
  request.set_expected_version(options.expected_version);
  request.set_validate_only(options.dry_run);
  return Update(context, request);
}

int RunConfigApply(const Context& context, const ConfigApplyOptions& options) {
  std::optional<UpdateConfigRequest> request = FileRequest(options);
  if (!request) return kExitUsage;
  return Update(context, *request);
}

bool ApplyChangesWorkers(const Context& context, const ConfigApplyOptions& options) {
  ConfigApplyOptions dry = options;
  dry.dry_run = true;
  std::optional<UpdateConfigRequest> request = FileRequest(dry, /*quiet=*/true);
  if (!request) return false;
  for (const std::string& address : context.addresses) {
    NodeClient client(address, context.timeout, context.transport);
    UpdateConfigResponse response;
    if (client.UpdateConfig(*request, &response).ok() && DiffTouches(response, "workers")) {
      return true;
    }
  }
  return false;
}

int RunConfigDiff(const Context& context, const ConfigApplyOptions& options) {
  ConfigApplyOptions dry = options;
  dry.dry_run = true;
  std::optional<UpdateConfigRequest> request = FileRequest(dry);
  if (!request) return kExitUsage;
  return RunOnNodes(context, {"VERSION", "CHANGES"}, [&request](NodeClient& client) {
    UpdateConfigResponse response;
    NodeReport report;
    report.outcome = client.UpdateConfig(*request, &response);
    if (!report.outcome.ok()) return report;
    std::string version = std::to_string(response.config().version());
    report.rows.push_back({version, DiffCell(response.diff())});
    report.text = response.diff().empty() ? "no differences from config version " + version + "\n"
                                          : DiffLines(response.diff());
    proxynode::v1::UpdateConfigResponse shown;
    *shown.mutable_diff() = response.diff();
    shown.set_dry_run(true);
    shown.set_unchanged(response.unchanged());
    *shown.mutable_config() = response.config();
    report.json = ToJson(shown);
    return report;
  });
}

int RunDrain(const Context& context) {
  return RunOnNodes(context, {"RESULT", "CONNECTIONS"}, [](NodeClient& client) {
    NodeReport report;
    proxynode::v1::DrainResponse response;
    report.outcome = client.Drain(&response);
    if (!report.outcome.ok()) return report;
    std::string connections = std::to_string(response.connections());
    report.rows.push_back({"draining", connections});
    report.text = "draining " + client.address() + ": " + connections +
                  " connections open; the node exits once they finish\n";
    report.json = ToJson(response);
    return report;
  });
}

}  // namespace proxyctl
