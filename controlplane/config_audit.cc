#include "controlplane/config_audit.h"

#include "controlplane/config_diff.h"
#include "controlplane/json_log.h"

namespace proxynode {

std::string_view ConfigSourceName(ConfigSource source) {
  switch (source) {
    case ConfigSource::kStartup:
      return "startup";
    case ConfigSource::kConfigFile:
      return "config_file";
    case ConfigSource::kGrpc:
      return "grpc";
    case ConfigSource::kExpiry:
      return "expiry";
    case ConfigSource::kRollback:
      return "rollback";
    case ConfigSource::kToxiproxyApi:
      return "toxiproxy_api";
  }
  return "unknown";
}

void AuditApplied(const ConfigChange& change, const ConfigResult& result, uint64_t version) {
  const std::string_view message = result.dry_run                             ? "config dry run"
                                   : !result.changed                          ? "config unchanged"
                                   : change.source == ConfigSource::kRollback ? "config rolled back"
                                                                              : "config applied";
  // A dry run changes nothing: it goes to the debug level, not the audit trail.
  Log(result.dry_run ? LogLevel::kDebug : LogLevel::kInfo, message,
      {{"audit", true},
       {"source", ConfigSourceName(change.source)},
       {"peer", change.origin},
       {"identity", change.identity},
       {"version", version},
       {"restored_version", result.restored_version},
       {"diff", RawJson{DiffToJson(result.diff)}}});
}

void AuditRefused(const ConfigChange& change, const absl::Status& refusal, uint64_t version) {
  LogInfo("config update refused", {{"audit", true},
                                    {"source", ConfigSourceName(change.source)},
                                    {"peer", change.origin},
                                    {"identity", change.identity},
                                    {"version", version},
                                    {"expected_version", change.expected_version},
                                    {"dry_run", change.dry_run},
                                    {"error", std::string(refusal.message())}});
}

void AuditDrain(const std::string& origin, const std::string& identity, uint64_t connections) {
  LogInfo("drain requested", {{"audit", true},
                              {"source", "grpc"},
                              {"peer", origin},
                              {"identity", identity},
                              {"connections", connections}});
}

}  // namespace proxynode
