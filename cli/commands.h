#pragma once

// The commands' entry points and their own flags. Each returns the process exit code
// (exit_codes.h) and prints its output itself; app.cc parses the command line into these
// structs and calls the one chosen.

#include <cstdint>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/fault_rule_builder.h"

namespace proxyctl {

// Read commands (read_commands.cc).
int RunStatus(const Context& context);
int RunStats(const Context& context);

struct ConnectionsOptions {
  std::string sort = "age";  // age, requests, bytes_in, bytes_out, worker
  uint32_t limit = 0;        // 0 = all
};
int RunConnections(const Context& context, const ConnectionsOptions& options);

struct VersionOptions {
  bool client_only = false;
};
// `context` is null with --client (no node is contacted).
int RunVersion(const Context* context);

// top (top_command.cc).
struct TopOptions {
  std::string interval = "1s";
  int iterations = 0;  // 0 = until Ctrl-C
};
int RunTop(const Context& context, const TopOptions& options);

// Changes (config_commands.cc).
struct ConfigGetOptions {
  std::string key;  // empty: every key
};
int RunConfigGet(const Context& context, const ConfigGetOptions& options);

struct ConfigSetOptions {
  std::vector<std::string> assignments;
  uint64_t expected_version = 0;
  bool dry_run = false;
};
int RunConfigSet(const Context& context, const ConfigSetOptions& options);

struct ConfigApplyOptions {
  std::string file;  // "-" = stdin
  uint64_t expected_version = 0;
  bool dry_run = false;
  // Today's patch: only the fields the file has change. Otherwise the file is the whole
  // config (UpdateConfigRequest.replace).
  bool merge = false;
};
int RunConfigApply(const Context& context, const ConfigApplyOptions& options);
// What `config apply` would change, and nothing else: a dry run that prints the diff.
int RunConfigDiff(const Context& context, const ConfigApplyOptions& options);
// Whether applying the file would change the worker count of any of the nodes (a dry run on
// each); false when that cannot be told (the command itself then reports why).
bool ApplyChangesWorkers(const Context& context, const ConfigApplyOptions& options);

// History and rollback (config_history_commands.cc).
int RunConfigHistory(const Context& context);

struct ConfigRollbackOptions {
  uint64_t to_version = 0;  // 0: the version before the running one
  uint64_t expected_version = 0;
  bool dry_run = false;
};
int RunConfigRollback(const Context& context, const ConfigRollbackOptions& options);
// As ApplyChangesWorkers, for a rollback.
bool RollbackChangesWorkers(const Context& context, const ConfigRollbackOptions& options);

int RunDrain(const Context& context);

// Fault rules (fault_commands.cc): each edit is a read-modify-write of the node's rule list
// guarded by its config version (fault_update.h).
int RunFaultAdd(const Context& context, const FaultAddOptions& options);
int RunFaultList(const Context& context);

struct FaultRemoveOptions {
  std::vector<std::string> names;
  uint64_t expected_version = 0;
};
int RunFaultRemove(const Context& context, const FaultRemoveOptions& options);

struct FaultClearOptions {
  uint64_t expected_version = 0;
};
int RunFaultClear(const Context& context, const FaultClearOptions& options);

// proxyctl's build: "0.1.0 (commit 1a2b3c4d5e6f, RelWithDebInfo)" (common/build_info.h).
std::string ClientVersion();

}  // namespace proxyctl
