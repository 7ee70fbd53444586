#pragma once

// A read-modify-write of one node's TCP proxy list, as fault_update.h does for fault rules:
// GetConfig, edit the list, UpdateConfig with the mask "tcp_proxies" (the whole list) guarded
// by the version read. A change that lands in between makes the node refuse with
// FAILED_PRECONDITION; the edit is then made again on a fresh read, up to
// kTcpUpdateAttempts times. With a version the user gave (--expected-version) a refusal is
// final. A dry run (validate_only) has the node check the change and report its diff.

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "cli/context.h"
#include "cli/node_client.h"
#include "cli/tcp_list_edit.h"

namespace proxyctl {

inline constexpr int kTcpUpdateAttempts = 5;

// Edits the list read; an error refuses the change (exit 1, nothing sent).
using TcpEdit = std::function<absl::Status(TcpProxies& proxies)>;

struct TcpUpdateOptions {
  uint64_t expected_version = 0;  // 0: the version read (retried on a race), else the user's
  bool dry_run = false;
};

struct TcpUpdate {
  proxynode::v1::NodeConfig read;  // the config the edit that counted was made on
  // The node's answer; when the edit changed nothing (and nothing was sent), `unchanged`
  // with the config read.
  proxynode::v1::UpdateConfigResponse response;
};

Outcome UpdateTcpProxies(NodeClient& client, const TcpUpdateOptions& options, const TcpEdit& edit,
                         TcpUpdate* update);

// Runs `edit` on every node of `context` and reports each node's answer as `config set`
// does (update_report.h), `verb` naming the change: "added TCP proxy db on ADDR: config
// version 3 in 210us" and the diff.
int RunTcpChange(const Context& context, const TcpUpdateOptions& options, const std::string& verb,
                 const TcpEdit& edit);

}  // namespace proxyctl
