#pragma once

// Fault rules (issue 18, docs/faults.md): which requests a rule aims at (FaultMatch), what
// it does to the ones it hits (a delay drawn from a distribution, an abort, a bandwidth
// limit), how often (a percentage, drawn once per rule) and until when. Rules are part of
// NodeConfig and live in its immutable snapshots; the first rule that matches a request and
// whose draw hits it applies, and no other.
//
// Thread contract: immutable once published; read by every worker.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/core/clock.h"
#include "dataplane/fault/delay_distribution.h"

namespace proxynode {

enum class HeaderMatchKind : uint8_t { kPresent, kExact, kPrefix };

struct HeaderMatch {
  std::string name;  // lower case; matched case-insensitively
  HeaderMatchKind kind = HeaderMatchKind::kPresent;
  std::string value;  // kExact, kPrefix: compared byte for byte with the field's value
  bool operator==(const HeaderMatch&) const = default;
};

// A client address range in CIDR notation, e.g. "10.0.0.0/8" or "2001:db8::/32".
struct ClientRange {
  std::string text;  // as configured
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // network byte order; IPv4 in the first 4 bytes
  uint8_t prefix_length = 0;
  bool operator==(const ClientRange& other) const { return text == other.text; }
};

// "10.0.0.0/8", "192.168.1.7" (a /32), "::1/128", "2001:db8::/32". Host bits past the
// prefix are refused (a likely typo: "10.1.0.0/8").
absl::StatusOr<ClientRange> ParseClientRange(std::string_view text);

// Every condition set must hold; an empty condition holds for any request.
struct FaultMatch {
  std::string route;                 // a route's prefix, as configured: requests that route serves
  uint32_t methods = 0;              // one bit per HttpMethod (1 << method); 0: any method
  std::string path_prefix;           // the request target starts with it
  std::string path_exact;            // the request target's path (before '?') equals it
  std::vector<HeaderMatch> headers;  // all of them
  std::vector<ClientRange> clients;  // any of them
  std::string upstream;              // "host:port": the matched route proxies to it
  bool operator==(const FaultMatch&) const = default;
};

// Where an injected delay is spent.
enum class DelayTarget : uint8_t {
  kRequest,       // before the request is answered or forwarded: the whole request is slower
  kResponseHead,  // nothing of the response leaves before it
  kFirstByte,     // the response head leaves at once; its first body byte waits
};

struct DelayFault {
  DelayDistribution distribution;
  DelayTarget target = DelayTarget::kRequest;
  bool operator==(const DelayFault&) const = default;
};

enum class AbortKind : uint8_t {
  kNone,
  kStatus,  // an HTTP response with `status`, `body` and `headers`
  kReset,   // a TCP reset (SO_LINGER 0), before the response or after `after_bytes` of it
  kClose,   // the connection closes with no response
  kCut,     // the head promises the whole body; `after_bytes` of it are sent, then a close
  kSilent,  // no response and no close: the client waits until it gives up
};

struct AbortFault {
  AbortKind kind = AbortKind::kNone;
  int status = 503;
  std::string body;  // kStatus; empty: the node's plain text for the status
  std::vector<std::pair<std::string, std::string>> headers;  // kStatus: extra fields
  uint64_t after_bytes = 0;  // kReset: response bytes sent first; kCut: body bytes sent
  // kStatus, for a gRPC request (content-type application/grpc...) over HTTP/2: HTTP 200
  // with this grpc-status (0-16) and grpc-message instead of `status`; -1: none.
  int grpc_status = -1;
  std::string grpc_message;
  bool operator==(const AbortFault&) const = default;
};

enum class BandwidthScope : uint8_t {
  kResponse,    // each response hit gets the rate
  kConnection,  // each connection hit gets the rate, for the rest of its life
  kRule,        // every request the rule hits shares the rate (split across workers)
};

struct BandwidthFault {
  uint64_t bytes_per_second = 0;  // 0: no limit
  BandwidthScope scope = BandwidthScope::kResponse;
  bool operator==(const BandwidthFault&) const = default;
};

// Request headers that set a rule's faults per request (x-proxynode-fault-delay: 250ms,
// x-proxynode-fault-abort: 503, x-proxynode-fault-throughput: 64KiB). Off unless enabled;
// values out of these bounds are ignored and counted.
struct HeaderTriggers {
  bool enabled = false;
  Nanos max_delay = 10 * kSecond;
  int min_abort_status = 400;
  int max_abort_status = 599;
  uint64_t min_bytes_per_second = 1024;
  bool operator==(const HeaderTriggers&) const = default;
};

struct FaultRule {
  std::string name;  // unique; [A-Za-z0-9._-], at most 64 bytes
  FaultMatch match;
  double percent = 100;  // of matching requests hit, [0, 100]; 0 never fires
  std::optional<DelayFault> delay;
  AbortFault abort;
  BandwidthFault bandwidth;
  HeaderTriggers header_triggers;
  // Wall-clock time (ns since the Unix epoch) the node removes the rule at; 0: never.
  int64_t expires_at_unix_nanos = 0;
  // The response says which rule fired: "x-proxynode-fault: <name>".
  bool tag_response = false;
  bool operator==(const FaultRule&) const = default;
};

struct FaultBounds {
  static constexpr size_t kMaxRules = 256;
  static constexpr size_t kMaxNameBytes = 64;
  static constexpr size_t kMaxHeaderMatches = 16;
  static constexpr size_t kMaxClientRanges = 64;
  static constexpr size_t kMaxAbortHeaders = 16;
  static constexpr size_t kMaxAbortBodyBytes = 64 * 1024;
  static constexpr int kMaxGrpcStatus = 16;  // UNAUTHENTICATED, the last of gRPC's codes
  static constexpr size_t kMaxGrpcMessageBytes = 1024;
  static constexpr Nanos kMaxDelay = 3600 * kSecond;
  static constexpr uint64_t kMaxBytesPerSecond = uint64_t{1} << 40;
};

// A fault rule's, TCP proxy's or toxic's name: 1-64 characters of A-Z a-z 0-9 . _ -
bool IsResourceName(std::string_view name);

// OK, or INVALID_ARGUMENT naming the first offending field (e.g. "faults[2].abort.status").
absl::Status ValidateFaultRules(const std::vector<FaultRule>& rules);

// The bit of FaultMatch::methods for `method`, and its name ("GET"), for configs and the CLI.
std::optional<uint32_t> MethodBit(std::string_view name);

}  // namespace proxynode
