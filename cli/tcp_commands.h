#pragma once

// `proxyctl tcp` and `proxyctl toxic` (issue 19): the node's TCP proxies and their toxics,
// one at a time. Every change is a read-modify-write of the whole tcp_proxies list guarded
// by the config version (tcp_update.h), runs on each node --all names, and prints the
// node's diff as `config set` does; --dry-run has the node check it and change nothing.

#include <cstdint>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/tcp_update.h"
#include "cli/toxic_values.h"

namespace proxyctl {

struct TcpAddOptions {
  std::string name;
  std::string listen;
  std::string upstream;
  bool disabled = false;
  std::string connect_timeout;  // "" = the node's default
  TcpUpdateOptions change;
};
int RunTcpAdd(const Context& context, const TcpAddOptions& options);

int RunTcpList(const Context& context);

struct TcpNameOptions {  // remove, enable, disable
  std::string name;
  TcpUpdateOptions change;
};
int RunTcpRemove(const Context& context, const TcpNameOptions& options);
int RunTcpEnable(const Context& context, const TcpNameOptions& options, bool enable);

struct TcpUpdateFlags {
  std::string name;
  std::string listen;    // "" = kept
  std::string upstream;  // "" = kept
  std::string connect_timeout;
  TcpUpdateOptions change;
};
int RunTcpUpdate(const Context& context, const TcpUpdateFlags& options);

// toxic_commands.cc
struct ToxicAddOptions {
  std::string proxy;
  ToxicSpec spec;
  bool downstream = false;  // --downstream: the default, said out loud
  TcpUpdateOptions change;
};
int RunToxicAdd(const Context& context, const ToxicAddOptions& options);

struct ToxicUpdateOptions {
  std::string proxy;
  std::string name;
  std::vector<std::string> attributes;
  std::string toxicity;
  TcpUpdateOptions change;
};
int RunToxicUpdate(const Context& context, const ToxicUpdateOptions& options);

struct ToxicRemoveOptions {
  std::string proxy;
  std::string name;
  TcpUpdateOptions change;
};
int RunToxicRemove(const Context& context, const ToxicRemoveOptions& options);

struct ToxicListOptions {
  std::string proxy;  // "" = every proxy
};
int RunToxicList(const Context& context, const ToxicListOptions& options);

}  // namespace proxyctl
