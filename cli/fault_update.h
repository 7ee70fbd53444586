#pragma once

// A read-modify-write of one node's fault rule list: GetConfig, edit the list, UpdateConfig
// with the mask "faults" (the whole list) guarded by the version read. Another change that
// lands in between makes the node refuse with FAILED_PRECONDITION; the edit is then made
// again on a fresh read, up to kFaultUpdateAttempts times, which is safe because the edit is
// made on what was read. With a version the user gave (--expected-version), that version is
// sent as is and a refusal is final: the user asked for a change of that version only.

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "cli/fault_list_edit.h"
#include "cli/node_client.h"

namespace proxyctl {

inline constexpr int kFaultUpdateAttempts = 5;

// Edits the list read; an error refuses the change (exit 1, nothing sent).
using FaultEdit = std::function<absl::Status(FaultRules& rules)>;

struct FaultUpdate {
  proxynode::v1::NodeConfig read;     // the config the edit that counted was made on
  proxynode::v1::NodeConfig applied;  // the node's config after it (= read if unchanged)
  bool changed = false;               // false: the edit left the list as it was; nothing sent
};

// `expected_version`: 0 for the version read (retried on a race), else the user's.
Outcome UpdateFaults(NodeClient& client, uint64_t expected_version, const FaultEdit& edit,
                     FaultUpdate* update);

}  // namespace proxyctl
