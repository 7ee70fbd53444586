#include "cli/fault_values.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "cli/units.h"
#include "common/grpc_status.h"

namespace proxyctl {
namespace {

using proxynode::v1::AbortFault;
using proxynode::v1::HeaderMatch;

constexpr char kAbortForms[] =
    "must be a status code like 503, or reset, reset:after=BYTES, close, cut, cut:after=BYTES "
    "or silent";
constexpr char kHeaderForms[] =
    "must be NAME (present), NAME=VALUE (exact) or NAME=PREFIX* (prefix), e.g. x-user=test";

bool HasSpace(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "reset" or "reset:after=BYTES" (likewise "cut"): the byte count, 0 when absent.
absl::StatusOr<uint64_t> AfterBytes(const std::string& text, std::string_view kind) {
  if (text.size() == kind.size()) return 0;
  const std::string prefix = std::string(kind) + ":after=";
  if (text.compare(0, prefix.size(), prefix) != 0) {
    return FlagError("--abort", text, std::string(kind) + " takes only after=BYTES");
  }
  std::optional<uint64_t> bytes = ParseSize(std::string_view(text).substr(prefix.size()));
  if (!bytes) {
    return FlagError("--abort", text, "after must be a byte count like 100 or 1KiB");
  }
  return *bytes;
}

}  // namespace

absl::Status FlagError(std::string_view flag, std::string_view value, std::string_view what) {
  return absl::InvalidArgumentError(std::string(flag) + " " + std::string(value) + ": " +
                                    std::string(what));
}

google::protobuf::Duration DurationFromNanos(int64_t nanos) {
  google::protobuf::Duration duration;
  duration.set_seconds(nanos / kNanosPerSecond);
  duration.set_nanos(static_cast<int32_t>(nanos % kNanosPerSecond));
  return duration;
}

absl::StatusOr<google::protobuf::Duration> ParseFlagDuration(std::string_view flag,
                                                             const std::string& text,
                                                             bool positive) {
  std::optional<int64_t> nanos = ParseDuration(text);
  if (!nanos || *nanos < 0 || (positive && *nanos == 0)) {
    return FlagError(flag, text,
                     positive ? "must be a duration > 0 like 30s, 10m or 1h30m"
                              : "must be a duration >= 0 like 250ms, 1.5s or 0s");
  }
  return DurationFromNanos(*nanos);
}

absl::StatusOr<AbortFault> ParseAbort(const std::string& text) {
  AbortFault abort;
  const std::string kind = text.substr(0, text.find(':'));
  if (kind == "reset" || kind == "cut") {
    absl::StatusOr<uint64_t> after = AfterBytes(text, kind);
    if (!after.ok()) return after.status();
    abort.set_kind(kind == "reset" ? AbortFault::RESET : AbortFault::CUT);
    abort.set_after_bytes(*after);
    return abort;
  }
  if (text == "close" || text == "silent") {
    abort.set_kind(text == "close" ? AbortFault::CLOSE : AbortFault::SILENT);
    return abort;
  }
  // Three digits: the node checks the range (200-599).
  std::optional<uint64_t> status = ParseCount(text);
  if (!status || text.size() != 3) return FlagError("--abort", text, kAbortForms);
  abort.set_kind(AbortFault::STATUS);
  abort.set_status(static_cast<uint32_t>(*status));
  return abort;
}

absl::StatusOr<AbortFault::Header> ParseAbortHeader(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string_view name =
      TrimSpaces(std::string_view(text).substr(0, std::min(colon, text.size())));
  if (colon == std::string::npos || name.empty() || HasSpace(name)) {
    return FlagError("--abort-header", text, "must be 'Name: value', e.g. 'Retry-After: 5'");
  }
  AbortFault::Header header;
  header.set_name(std::string(name));
  header.set_value(std::string(TrimSpaces(std::string_view(text).substr(colon + 1))));
  return header;
}

absl::StatusOr<uint32_t> ParseGrpcStatus(const std::string& text) {
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (size_t code = 0; code < proxynode::kGrpcStatusNames.size(); ++code) {
    if (upper == proxynode::kGrpcStatusNames[code] || text == std::to_string(code)) {
      return static_cast<uint32_t>(code);
    }
  }
  return FlagError("--abort-grpc-status", text,
                   "must be a gRPC status code 0-16 or its name, e.g. 14 or UNAVAILABLE");
}

absl::StatusOr<HeaderMatch> ParseHeaderMatch(const std::string& text) {
  const size_t equals = text.find('=');
  const std::string_view name = std::string_view(text).substr(0, std::min(equals, text.size()));
  // "x-user: test" is how a request shows it, and a likely slip.
  if (name.empty() || HasSpace(name) || name.find(':') != std::string_view::npos) {
    return FlagError("--header", text, kHeaderForms);
  }
  HeaderMatch match;
  match.set_name(Lower(name));
  if (equals == std::string::npos) {
    match.set_kind(HeaderMatch::PRESENT);
    return match;
  }
  std::string value = text.substr(equals + 1);
  const bool prefix = !value.empty() && value.back() == '*';
  if (prefix) value.pop_back();
  match.set_kind(prefix ? HeaderMatch::PREFIX : HeaderMatch::EXACT);
  match.set_value(value);
  return match;
}

absl::StatusOr<uint64_t> ParseBandwidth(const std::string& text) {
  std::string_view size = text;
  if (size.size() > 2 && size.substr(size.size() - 2) == "/s") size.remove_suffix(2);
  std::optional<uint64_t> bytes = ParseSize(size);
  if (!bytes) {
    return FlagError("--bandwidth", text,
                     "must be bytes per second like 64KiB, 1MB/s or 512B (B, KB/KiB, MB/MiB, "
                     "GB/GiB)");
  }
  if (*bytes == 0) {
    return FlagError("--bandwidth", text, "must be more than 0 bytes per second");
  }
  return *bytes;
}

absl::StatusOr<double> ParsePercent(const std::string& text) {
  std::string number = text;
  if (!number.empty() && number.back() == '%') number.pop_back();
  // strtod alone would take "0x10", "inf" and leading spaces.
  bool plain = !number.empty();
  for (char c : number) plain = plain && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
  char* end = nullptr;
  const double value = plain ? std::strtod(number.c_str(), &end) : 0;
  if (!plain || end != number.c_str() + number.size() || !std::isfinite(value)) {
    return FlagError("--percent", text, "must be a number like 25 or 0.5 (of matching requests)");
  }
  return value;
}

absl::StatusOr<google::protobuf::Timestamp> ParseUntil(const std::string& text, absl::Time now) {
  absl::Time time;
  std::string reason;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &reason)) {
    return FlagError("--until", text,
                     "must be an RFC 3339 time like 2030-01-02T15:04:05Z or "
                     "2030-01-02T17:04:05+02:00");
  }
  if (time <= now) {
    return FlagError("--until", text, "is not in the future");
  }
  const int64_t nanos = absl::ToUnixNanos(time);
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(nanos / kNanosPerSecond);
  timestamp.set_nanos(static_cast<int32_t>(nanos % kNanosPerSecond));
  return timestamp;
}

absl::StatusOr<std::vector<std::string>> ParseFlagList(std::string_view flag,
                                                       const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (item.empty()) return FlagError(flag, text, "has an empty item; separate items with ','");
    items.push_back(std::move(item));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

}  // namespace proxyctl
