#pragma once

// The `tcp` and `toxic` command groups (issue 19) in proxyctl's command tree: their flags,
// help and completion hints. The commands themselves are in tcp_commands.cc and
// toxic_commands.cc.

#include "cli/command_tree.h"
#include "cli/tcp_commands.h"

namespace proxyctl {

// Everything the two groups' command lines can set.
struct TcpFlags {
  TcpAddOptions add;
  TcpNameOptions remove;
  TcpNameOptions enable;
  TcpNameOptions disable;
  TcpUpdateFlags update;
  ToxicAddOptions toxic_add;
  ToxicUpdateOptions toxic_update;
  ToxicRemoveOptions toxic_remove;
  ToxicListOptions toxic_list;
};

void BuildTcpCommands(CLI::App& app, TcpFlags& flags, Leaves& leaves, CompletionHints& hints);
void BuildToxicCommands(CLI::App& app, TcpFlags& flags, Leaves& leaves, CompletionHints& hints);

}  // namespace proxyctl
