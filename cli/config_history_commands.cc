// config history and config rollback: the versions a node keeps, and applying one again.

#include <ctime>

#include "cli/commands.h"
#include "cli/fleet.h"
#include "cli/printer.h"
#include "cli/update_report.h"

namespace proxyctl {
namespace {

using proxynode::v1::ConfigHistoryEntry;

// "2026-12-07 12:00:01Z": UTC, as the node's log has it.
std::string FormatUtc(const google::protobuf::Timestamp& stamp) {
  const std::time_t seconds = static_cast<std::time_t>(stamp.seconds());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%SZ", &utc);
  return text;
}

std::string SourceName(const ConfigHistoryEntry& entry) {
  switch (entry.source()) {
    case ConfigHistoryEntry::STARTUP:
      return "startup";
    case ConfigHistoryEntry::CONFIG_FILE:
      return "config file";
    case ConfigHistoryEntry::GRPC:
      return "update";
    case ConfigHistoryEntry::EXPIRY:
      return "fault expiry";
    case ConfigHistoryEntry::ROLLBACK:
      return "rollback to " + std::to_string(entry.restored_version());
    case ConfigHistoryEntry::TOXIPROXY_API:
      return "toxiproxy api";
    default:
      return "unknown";
  }
}

// The certificate's identity when there is one, else the peer or the file.
std::string By(const ConfigHistoryEntry& entry) {
  if (!entry.identity().empty()) return entry.identity() + " (" + entry.origin() + ")";
  return entry.origin();
}

}  // namespace

int RunConfigHistory(const Context& context) {
  const Row headers = {"VERSION", "APPLIED", "SOURCE", "BY", "CHANGES"};
  return RunOnNodes(context, headers, [&headers](NodeClient& client) {
    NodeReport report;
    proxynode::v1::GetConfigHistoryResponse response;
    report.outcome = client.GetConfigHistory({}, &response);
    if (!report.outcome.ok()) return report;
    Table table(headers);
    for (const ConfigHistoryEntry& entry : response.entries()) {
      Row row = {std::to_string(entry.version()), FormatUtc(entry.applied_at()), SourceName(entry),
                 By(entry), entry.diff().empty() ? "-" : DiffCell(entry.diff())};
      table.AddRow(row);
      report.rows.push_back(std::move(row));
    }
    report.text = table.Render();
    report.json = ToJson(response);
    return report;
  });
}

bool RollbackChangesWorkers(const Context& context, const ConfigRollbackOptions& options) {
  proxynode::v1::RollbackConfigRequest request;
  request.set_to_version(options.to_version);
  request.set_validate_only(true);
  for (const std::string& address : context.addresses) {
    NodeClient client(address, context.timeout, context.transport);
    proxynode::v1::UpdateConfigResponse response;
    if (client.RollbackConfig(request, &response).ok() && DiffTouches(response, "workers")) {
      return true;
    }
  }
  return false;
}

int RunConfigRollback(const Context& context, const ConfigRollbackOptions& options) {
  proxynode::v1::RollbackConfigRequest request;
  request.set_to_version(options.to_version);
  request.set_expected_version(options.expected_version);
  request.set_validate_only(options.dry_run);
  return RunOnNodes(context, UpdateReportHeaders(), [&request](NodeClient& client) {
    proxynode::v1::UpdateConfigResponse response;
    NodeReport report;
    report.outcome = client.RollbackConfig(request, &response);
    if (!report.outcome.ok()) return report;
    NodeReport done = UpdateReport(client.address(), response, "rolled back");
    done.outcome = report.outcome;
    return done;
  });
}

}  // namespace proxyctl
