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
#include "dataplane/http/http_syntax.h"

namespace proxynode {

// The fields of a request head, indexed on first use: the rules that match on headers then
// compare names instead of each scanning the head again. Positions, not views, so that
// building one costs nothing until a rule asks.
class HeaderFields {
 public:
  explicit HeaderFields(std::string_view head_block) : block_(head_block) {}

  // Calls `holds` with the value of each field named `lower_name`, in order, until one
  // returns true.
  template <typename Holds>
  bool Any(std::string_view lower_name, Holds&& holds) const {
    if (!indexed_) Index();
    for (uint32_t i = 0; i < count_; ++i) {
      const Field& field = fields_[i];
      if (field.name_size == lower_name.size() &&
          http_syntax::EqualsIgnoreCase(block_.substr(field.name_begin, field.name_size),
                                        lower_name) &&
          holds(block_.substr(field.value_begin, field.value_size))) {
        return true;
      }
    }
    return false;
  }

  // The first field named `lower_name`, without surrounding whitespace.
  std::optional<std::string_view> Find(std::string_view lower_name) const;

 private:
  struct Field {
    uint32_t name_begin;
    uint32_t value_begin;
    uint16_t name_size;
    uint16_t value_size;
  };
  // More than the parser lets a request have (ParserLimits::max_header_count).
  static constexpr uint32_t kMaxFields = 128;

  void Index() const;

  std::string_view block_;
  mutable Field fields_[kMaxFields];  // left uninitialized: only [0, count_) is read
  mutable uint32_t count_ = 0;
  mutable bool indexed_ = false;
};

struct FaultRequest {
  const RequestHead& head;
  std::string_view head_block;  // the head as received: request line and fields
  const RouteConfig* route;     // the route serving it; null: none
  // The client's address, asked for only when a rule matches on it (it costs a syscall).
  absl::FunctionRef<SocketAddress()> fetch_client;
  mutable std::optional<SocketAddress> client = std::nullopt;
  HeaderFields fields{head_block};

  const SocketAddress& Client() const {
    if (!client) client = fetch_client();
    return *client;
  }
};

bool MatchesFault(const FaultMatch& match, const FaultRequest& request);

// The value of the first field `lower_name` in `head_block`, without surrounding
// whitespace; nullopt when absent. (One lookup: several go through HeaderFields.)
std::optional<std::string_view> FindHeader(std::string_view head_block,
                                           std::string_view lower_name);

bool InClientRange(const ClientRange& range, const SocketAddress& client);

// Trigger header values: "250ms", "1.5s", "250" (milliseconds); "64KiB", "1MB", "1000"
// (bytes per second; "/s" allowed). nullopt when malformed.
std::optional<Nanos> ParseTriggerDelay(std::string_view text);
std::optional<uint64_t> ParseTriggerRate(std::string_view text);

}  // namespace proxynode
