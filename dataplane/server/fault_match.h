#pragma once

// Whether a fault rule's match holds for one request, and the request-side values a rule's
// header triggers read. Pure functions over the parsed head, the head as received and the
// client's address: no allocation, no I/O.
//
// Thread contract: any thread.

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "dataplane/config/route_config.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/fault/fault_rule.h"
#include "dataplane/http/http_parser.h"

namespace proxynode {

struct FaultRequest {
  const RequestHead& head;
  std::string_view head_block;  // the head as received: request line and fields
  const RouteConfig* route;     // the route serving it; null: none
  // The client's address, asked for only when a rule matches on it (it costs a syscall).
  absl::FunctionRef<SocketAddress()> fetch_client;
  mutable std::optional<SocketAddress> client = std::nullopt;

  const SocketAddress& Client() const {
    if (!client) client = fetch_client();
    return *client;
  }
};

bool MatchesFault(const FaultMatch& match, const FaultRequest& request);

// The value of the first field `lower_name` in `head_block`, without surrounding
// whitespace; nullopt when absent.
std::optional<std::string_view> FindHeader(std::string_view head_block,
                                           std::string_view lower_name);

bool InClientRange(const ClientRange& range, const SocketAddress& client);

// Trigger header values: "250ms", "1.5s", "250" (milliseconds); "64KiB", "1MB", "1000"
// (bytes per second; "/s" allowed). nullopt when malformed.
std::optional<Nanos> ParseTriggerDelay(std::string_view text);
std::optional<uint64_t> ParseTriggerRate(std::string_view text);

}  // namespace proxynode
