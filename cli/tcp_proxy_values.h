#pragma once

// The `tcp_proxies` config key's value (issue 19): the whole list as a JSON array of
// TcpProxy objects in protobuf JSON form, one line, as `config get tcp_proxies` prints it and
// `config set tcp_proxies=...` reads it back. `proxyctl tcp` and `proxyctl toxic` edit the
// list entry by entry; this key sets or copies all of it (e.g. from one node to another).

#include <string>

#include "absl/status/status.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// `text` into `config`'s tcp_proxies: a JSON array like
// [{"name":"redis","listen":"127.0.0.1:16379","upstream":"127.0.0.1:6379",
//   "toxics":[{"name":"lag","latency":{"latency":"0.100s"}}]}]; "[]" or "none" clears them.
// On error, INVALID_ARGUMENT with the parser's reason on one line.
absl::Status ParseTcpProxies(const std::string& text, proxynode::v1::NodeConfig& config);

// The list as above, only the fields each proxy has; "none" when there are none.
std::string FormatTcpProxies(const proxynode::v1::NodeConfig& config);

}  // namespace proxyctl
