#include "dataplane/fault/fault_rule.h"

#include <arpa/inet.h>

#include <cmath>
#include <string>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/http/http_syntax.h"

namespace proxynode {
namespace {

absl::Status Invalid(const std::string& field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", std::string(what)));
}

using http_syntax::IsToken;

bool IsFieldValue(std::string_view text) {
  return http_syntax::AllBytes(text, [](char c) { return http_syntax::IsFieldValueChar(c); });
}

// Request targets hold no spaces or control bytes: a path with one could never match.
bool IsPath(std::string_view text) {
  return !text.empty() && text.front() == '/' && http_syntax::IsVisible(text);
}

// The largest value a distribution can draw, where it has one.
Nanos LargestDelay(const DelayDistribution& d) {
  switch (d.shape) {
    case DelayShape::kFixed:
      return d.fixed;
    case DelayShape::kUniform:
      return d.high;
    case DelayShape::kNormal:
      return d.mean;  // unbounded tail: draws are capped at FaultBounds::kMaxDelay
    case DelayShape::kLogNormal:
      return d.p99;
    case DelayShape::kPareto:
      return d.cap;
    case DelayShape::kEmpirical:
      return d.table.empty() ? 0 : d.table.back().value;
  }
  return 0;
}

// Fields the node writes itself in every response it makes: a rule may not set them.
bool IsFramingField(std::string_view lower_name) {
  return lower_name == "content-length" || lower_name == "transfer-encoding" ||
         lower_name == "connection" || lower_name == "keep-alive" || lower_name == "date";
}

absl::Status CheckMatch(const std::string& field, const FaultMatch& match) {
  if (!match.route.empty() && !IsPath(match.route)) {
    return Invalid(field + ".route", absl::StrCat("\"", absl::CEscape(match.route),
                                                  "\" is not a route prefix (starts with '/')"));
  }
  if (!match.path_prefix.empty() && !IsPath(match.path_prefix)) {
    return Invalid(field + ".path_prefix",
                   absl::StrCat("\"", absl::CEscape(match.path_prefix),
                                "\" must start with '/' and hold no space or control byte"));
  }
  if (!match.path_exact.empty() && !IsPath(match.path_exact)) {
    return Invalid(field + ".path_exact",
                   absl::StrCat("\"", absl::CEscape(match.path_exact),
                                "\" must start with '/' and hold no space or control byte"));
  }
  if (match.headers.size() > FaultBounds::kMaxHeaderMatches) {
    return Invalid(field + ".headers", absl::StrCat(match.headers.size(), " given, at most ",
                                                    FaultBounds::kMaxHeaderMatches));
  }
  for (size_t i = 0; i < match.headers.size(); ++i) {
    const HeaderMatch& header = match.headers[i];
    const std::string header_field = absl::StrCat(field, ".headers[", i, "]");
    if (!IsToken(header.name)) {
      return Invalid(header_field + ".name",
                     absl::StrCat("\"", absl::CEscape(header.name), "\" is not a field name"));
    }
    if (header.name != absl::AsciiStrToLower(header.name)) {
      return Invalid(header_field + ".name", "must be lower case");
    }
    if (header.kind != HeaderMatchKind::kPresent && !IsFieldValue(header.value)) {
      return Invalid(header_field + ".value", "holds a control character");
    }
  }
  if (match.clients.size() > FaultBounds::kMaxClientRanges) {
    return Invalid(field + ".clients", absl::StrCat(match.clients.size(), " given, at most ",
                                                    FaultBounds::kMaxClientRanges));
  }
  if (!match.upstream.empty() && match.upstream.find(':') == std::string::npos) {
    return Invalid(field + ".upstream",
                   absl::StrCat("\"", absl::CEscape(match.upstream), "\" is not host:port"));
  }
  return absl::OkStatus();
}

absl::Status CheckAbort(const std::string& field, const AbortFault& abort) {
  if (abort.kind == AbortKind::kStatus && (abort.status < 200 || abort.status > 599)) {
    return Invalid(field + ".status", absl::StrCat(abort.status, " is out of range [200, 599]"));
  }
  if (abort.kind == AbortKind::kStatus && (abort.status == 204 || abort.status == 304) &&
      !abort.body.empty()) {
    return Invalid(field + ".body", absl::StrCat("a ", abort.status, " response has no body"));
  }
  if (abort.kind != AbortKind::kStatus && (!abort.body.empty() || !abort.headers.empty())) {
    return Invalid(field, "a body or headers go with a status abort only");
  }
  if (abort.grpc_status > FaultBounds::kMaxGrpcStatus) {
    return Invalid(field + ".grpc_status",
                   absl::StrCat(abort.grpc_status, " is out of range [0, 16] (gRPC's codes)"));
  }
  if (abort.kind != AbortKind::kStatus && (abort.grpc_status >= 0 || !abort.grpc_message.empty())) {
    return Invalid(field + ".grpc_status", "goes with a status abort only");
  }
  if (abort.grpc_status < 0 && !abort.grpc_message.empty()) {
    return Invalid(field + ".grpc_message", "goes with a grpc_status");
  }
  if (abort.grpc_message.size() > FaultBounds::kMaxGrpcMessageBytes) {
    return Invalid(field + ".grpc_message",
                   absl::StrCat(abort.grpc_message.size(), " bytes, at most ",
                                FaultBounds::kMaxGrpcMessageBytes));
  }
  if (abort.body.size() > FaultBounds::kMaxAbortBodyBytes) {
    return Invalid(field + ".body", absl::StrCat(abort.body.size(), " bytes, at most ",
                                                 FaultBounds::kMaxAbortBodyBytes));
  }
  if (abort.headers.size() > FaultBounds::kMaxAbortHeaders) {
    return Invalid(field + ".headers", absl::StrCat(abort.headers.size(), " given, at most ",
                                                    FaultBounds::kMaxAbortHeaders));
  }
  for (size_t i = 0; i < abort.headers.size(); ++i) {
    const auto& [name, value] = abort.headers[i];
    const std::string header_field = absl::StrCat(field, ".headers[", i, "]");
    if (!IsToken(name)) {
      return Invalid(header_field,
                     absl::StrCat("\"", absl::CEscape(name), "\" is not a field name"));
    }
    if (IsFramingField(absl::AsciiStrToLower(name))) {
      return Invalid(header_field, absl::StrCat("\"", name, "\" is set by the node itself"));
    }
    if (!IsFieldValue(value)) {
      return Invalid(header_field, "the value holds a control character");
    }
  }
  if ((abort.kind == AbortKind::kReset || abort.kind == AbortKind::kCut) &&
      abort.after_bytes > (uint64_t{1} << 30)) {
    return Invalid(field + ".after_bytes", "at most 1 GiB");
  }
  if (abort.kind != AbortKind::kReset && abort.kind != AbortKind::kCut && abort.after_bytes != 0) {
    return Invalid(field + ".after_bytes", "goes with a reset or cut abort only");
  }
  return absl::OkStatus();
}

absl::Status CheckTriggers(const std::string& field, const HeaderTriggers& triggers) {
  if (triggers.max_delay < 0 || triggers.max_delay > FaultBounds::kMaxDelay) {
    return Invalid(field + ".max_delay", "out of range [0s, 1h]");
  }
  if (triggers.min_abort_status < 200 || triggers.max_abort_status > 599 ||
      triggers.min_abort_status > triggers.max_abort_status) {
    return Invalid(field, "abort statuses need 200 <= min_abort_status <= max_abort_status <= 599");
  }
  if (triggers.min_bytes_per_second < 1 ||
      triggers.min_bytes_per_second > FaultBounds::kMaxBytesPerSecond) {
    return Invalid(field + ".min_bytes_per_second", "out of range [1, 2^40]");
  }
  return absl::OkStatus();
}

absl::Status CheckRule(const std::string& field, const FaultRule& rule) {
  if (!IsResourceName(rule.name)) {
    return Invalid(field + ".name",
                   absl::StrCat("\"", absl::CEscape(rule.name),
                                "\" must be 1-64 characters of A-Z a-z 0-9 . _ -"));
  }
  if (!(rule.percent >= 0 && rule.percent <= 100)) {
    return Invalid(field + ".percent", absl::StrCat(rule.percent, " is out of range [0, 100]"));
  }
  if (absl::Status status = CheckMatch(field + ".match", rule.match); !status.ok()) {
    return status;
  }
  if (rule.delay) {
    // The proto's path: delay.distribution.<shape> (an empirical row: .empirical.points[i]).
    const std::string delay_field = field + ".delay.distribution";
    if (absl::Status status = ValidateDelayDistribution(rule.delay->distribution, delay_field);
        !status.ok()) {
      return status;
    }
    if (LargestDelay(rule.delay->distribution) > FaultBounds::kMaxDelay) {
      return Invalid(delay_field, "values must be at most 1h");
    }
  }
  if (absl::Status status = CheckAbort(field + ".abort", rule.abort); !status.ok()) {
    return status;
  }
  if (rule.bandwidth.bytes_per_second > FaultBounds::kMaxBytesPerSecond) {
    return Invalid(field + ".bandwidth.bytes_per_second", "out of range [0, 2^40]");
  }
  if (absl::Status status = CheckTriggers(field + ".header_triggers", rule.header_triggers);
      !status.ok()) {
    return status;
  }
  if (rule.expires_at_unix_nanos < 0) {
    return Invalid(field + ".expires_at", "before 1970");
  }
  const bool does_something = rule.delay.has_value() || rule.abort.kind != AbortKind::kNone ||
                              rule.bandwidth.bytes_per_second > 0 || rule.header_triggers.enabled;
  if (!does_something) {
    return Invalid(field, "no fault: give a delay, an abort, a bandwidth or header_triggers");
  }
  return absl::OkStatus();
}

bool ParseAddress(std::string_view text, bool& ipv6, std::array<uint8_t, 16>& bytes) {
  const std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

}  // namespace

bool IsResourceName(std::string_view name) {
  if (name.empty() || name.size() > FaultBounds::kMaxNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ClientRange> ParseClientRange(std::string_view text) {
  ClientRange range;
  range.text = std::string(text);
  const std::string& shown = range.text;
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  if (!ParseAddress(address, range.ipv6, range.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CEscape(shown), "\" is not an IP address or CIDR range"));
  }
  const uint32_t most = range.ipv6 ? 128 : 32;
  uint32_t length = most;
  if (slash != std::string_view::npos &&
      (!absl::SimpleAtoi(std::string(text.substr(slash + 1)), &length) || length > most)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CEscape(shown), "\": the prefix length must be 0-", most));
  }
  range.prefix_length = static_cast<uint8_t>(length);
  for (uint32_t bit = length; bit < most; ++bit) {
    if (range.address[bit / 8] & (0x80 >> (bit % 8))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CEscape(shown), "\" has address bits set past its /", length, " prefix"));
    }
  }
  return range;
}

std::optional<uint32_t> MethodBit(std::string_view name) {
  const HttpMethod method = MethodFromString(name);
  if (method == HttpMethod::kOther) {
    return std::nullopt;
  }
  return uint32_t{1} << static_cast<uint32_t>(method);
}

absl::Status ValidateFaultRules(const std::vector<FaultRule>& rules) {
  if (rules.size() > FaultBounds::kMaxRules) {
    return Invalid("faults (count)", absl::StrCat(rules.size(), " is out of range [0, ",
                                                  FaultBounds::kMaxRules, "]"));
  }
  std::unordered_map<std::string_view, size_t> names;
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string field = absl::StrCat("faults[", i, "]");
    if (absl::Status status = CheckRule(field, rules[i]); !status.ok()) {
      return status;
    }
    if (auto [it, inserted] = names.emplace(rules[i].name, i); !inserted) {
      return Invalid(field + ".name", absl::StrCat("\"", rules[i].name, "\" is already faults[",
                                                   it->second, "]'s name"));
    }
  }
  return absl::OkStatus();
}

}  // namespace proxynode
