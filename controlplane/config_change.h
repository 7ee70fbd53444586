#pragma once

// A config change as the pipeline (config_pipeline.h) takes it, and what became of it. Every
// source of change fills the same request: it says who asked and for what, the result says
// what now runs and what changed.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/clock.h"
#include "google/protobuf/field_mask.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

// Who asked for a change; it decides wording only (a refusal's message), never the checks.
// kExpiry: the node itself, removing fault rules whose time came. kRollback: a gRPC client
// applying a config from the history again. kToxiproxyApi: a client of the Toxiproxy-compatible
// HTTP API (toxiproxy_api.h).
enum class ConfigSource : uint8_t {
  kStartup,
  kConfigFile,
  kGrpc,
  kExpiry,
  kRollback,
  kToxiproxyApi
};

// UpdateConfig's form of a change: the fields `mask` names, taken from `fields`, onto the
// running config (ApplyFieldMask).
struct FieldMaskUpdate {
  v1::NodeConfig fields;
  google::protobuf::FieldMask mask;
};

// The node's own change: the running config without the fault rules expired at `now`
// (wall clock, ns since the epoch).
struct ExpireFaults {
  int64_t now_unix_nanos = 0;
};

// The config the history keeps for `version`, applied again as a new version.
struct RollbackTo {
  uint64_t version = 0;
};

struct ConfigChange {
  ConfigSource source = ConfigSource::kGrpc;
  // Who asked, in words: the gRPC peer ("ipv4:127.0.0.1:5000"), the Toxiproxy API's client
  // ("127.0.0.1:5000") or the config file's path.
  std::string origin;
  // The gRPC client's certificate identity under mutual TLS; empty otherwise.
  std::string identity = {};
  // 0: whatever the running version is. Otherwise the change is refused whole
  // (FAILED_PRECONDITION) unless the running config is at exactly this version.
  uint64_t expected_version = 0;
  // A patch of the running config, or a whole config replacing it (a config file, or a
  // declarative UpdateConfig: what it leaves out was already filled in from the defaults).
  std::variant<FieldMaskUpdate, NodeConfig, ExpireFaults, RollbackTo> update;
  // Checked and resolved as it would be applied, then answered without being applied.
  bool dry_run = false;
};

struct ConfigResult {
  // What runs once the change is through: the snapshot published or, when the change changed
  // nothing, the running one as it was. For a dry run: what would run, at the running version.
  ConfigSnapshotPtr config;
  bool changed = false;
  bool dry_run = false;
  // What the change changed (or would change), field by field.
  std::vector<v1::ConfigFieldChange> diff;
  // A rollback: the version whose config it restored.
  uint64_t restored_version = 0;
  // From the change's submission until every worker had the snapshot; 0 when not applied.
  Nanos apply_time = 0;
};

// A refusal (nothing was published, the version stays) or the result.
using ConfigOutcome = absl::StatusOr<ConfigResult>;

}  // namespace proxynode
