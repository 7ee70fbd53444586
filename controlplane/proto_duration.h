#pragma once

// Nanoseconds (the data plane's durations) to and from google.protobuf.Duration, in one
// place.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "dataplane/core/clock.h"
#include "google/protobuf/duration.pb.h"

namespace proxynode {

inline google::protobuf::Duration ToProtoDuration(Nanos nanos) {
  google::protobuf::Duration duration;
  duration.set_seconds(nanos / kSecond);
  duration.set_nanos(static_cast<int32_t>(nanos % kSecond));
  return duration;
}

// Durations beyond this many seconds cannot be nanoseconds in an int64; they are refused
// rather than wrapped (every valid duration is far below it).
inline constexpr int64_t kMaxDurationSeconds = 9'000'000'000;

// The duration in nanoseconds, or INVALID_ARGUMENT naming `field` when it is malformed or
// beyond an int64 of nanoseconds.
inline absl::StatusOr<Nanos> ToNanos(const std::string& field,
                                     const google::protobuf::Duration& d) {
  if (d.seconds() > kMaxDurationSeconds || d.seconds() < -kMaxDurationSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", d.seconds(), "s is out of range (far beyond the maximum)"));
  }
  if (d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": malformed duration"));
  }
  return d.seconds() * kSecond + d.nanos();
}

// Assigns `target` from `value` when `present`; an unset duration leaves `target` as it is
// (its default) and a malformed one is refused, naming `field`.
inline absl::Status CopyDurationIfSet(const std::string& field, bool present,
                                      const google::protobuf::Duration& value, Nanos& target) {
  if (!present) {
    return absl::OkStatus();
  }
  absl::StatusOr<Nanos> nanos = ToNanos(field, value);
  if (!nanos.ok()) {
    return nanos.status();
  }
  target = *nanos;
  return absl::OkStatus();
}

}  // namespace proxynode
