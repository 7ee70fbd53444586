#include "dataplane/config_snapshot.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace proxynode {
namespace {

absl::Status OutOfRange(const char* field, const std::string& value, const std::string& low,
                        const std::string& high) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", value, " is out of range [", low, ", ", high, "]"));
}

absl::Status CheckDuration(const char* field, Nanos value, Nanos low, Nanos high) {
  if (value < low || value > high) {
    return OutOfRange(field, FormatDuration(value), FormatDuration(low), FormatDuration(high));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(const char* field, uint64_t value, uint64_t low, uint64_t high) {
  if (value < low || value > high) {
    return OutOfRange(field, absl::StrCat(value), absl::StrCat(low), absl::StrCat(high));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatDuration(Nanos duration) {
  return absl::FormatDuration(absl::Nanoseconds(duration));
}

absl::Status ValidateConfig(const NodeConfig& c) {
  absl::Status status;
  status.Update(CheckDuration("delay", c.delay, 0, ConfigBounds::kMaxDelay));
  status.Update(CheckCount("body (bytes)", c.body.size(), 0, ConfigBounds::kMaxBodyBytes));
  status.Update(CheckCount("workers", c.workers, 1, ConfigBounds::kMaxWorkers));
  status.Update(CheckCount("max_connections", c.max_connections, 0, ConfigBounds::kMaxConnections));
  status.Update(CheckCount("max_pending", c.max_pending, 0, ConfigBounds::kMaxConnections));
  status.Update(CheckCount("rate_limit", c.rate_limit, 0, ConfigBounds::kMaxRateLimit));
  status.Update(CheckDuration("header_timeout", c.header_timeout, ConfigBounds::kMinTimeout,
                              ConfigBounds::kMaxHeaderTimeout));
  status.Update(CheckDuration("idle_timeout", c.idle_timeout, ConfigBounds::kMinTimeout,
                              ConfigBounds::kMaxIdleTimeout));
  status.Update(CheckCount("max_header_bytes", c.max_header_bytes, ConfigBounds::kMinHeaderBytes,
                           ConfigBounds::kMaxHeaderBytes));
  status.Update(
      CheckCount("max_body_bytes", c.max_body_bytes, 0, ConfigBounds::kMaxRequestBodyBytes));
  return status;  // Update() keeps the first error
}

}  // namespace proxynode
