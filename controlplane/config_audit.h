#pragma once

// The audit log: one JSON line at info level for every change a client asked for (applied,
// rolled back or refused) and every drain, with who asked (the gRPC peer and its certificate
// identity) and what changed. A config file's reload and a fault rule's expiry write their own
// lines (config_file_reload.cc, config_pipeline.cc), which carry the diff too.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "controlplane/config_change.h"

namespace proxynode {

// "startup", "config_file", "grpc", "expiry", "rollback".
std::string_view ConfigSourceName(ConfigSource source);

// A change applied as `version` (or, for a dry run, checked against it).
void AuditApplied(const ConfigChange& change, const ConfigResult& result, uint64_t version);
void AuditRefused(const ConfigChange& change, const absl::Status& refusal, uint64_t version);
void AuditDrain(const std::string& origin, const std::string& identity, uint64_t connections);

}  // namespace proxynode
