#pragma once

// The short forms `proxyctl fault add` takes for a rule's parts (issue 18): aborts ("503",
// "reset:after=1KiB"), header matches ("x-user=test", "x-id=abc*"), bandwidths ("64KiB/s"),
// percentages, durations and times. Delays have their own file (fault_delay_values.h).
//
// Syntax only, as for config keys: the ranges are the node's (its refusal names the field,
// e.g. "faults[0].abort.status"), so there is one source of truth for them. Every error is
// INVALID_ARGUMENT with one line that starts with the flag and the value as typed, then
// what the value must look like: "--abort 5o3: must be a status code like 503, ...".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// "FLAG VALUE: WHAT" as INVALID_ARGUMENT.
absl::Status FlagError(std::string_view flag, std::string_view value, std::string_view what);

google::protobuf::Duration DurationFromNanos(int64_t nanos);

// A duration for `flag` ("250ms", "1.5s", "10m"); 0 is refused when `positive`.
absl::StatusOr<google::protobuf::Duration> ParseFlagDuration(std::string_view flag,
                                                             const std::string& text,
                                                             bool positive);

// --abort: "503" (a status response), "reset", "reset:after=BYTES", "close", "cut",
// "cut:after=BYTES" or "silent"; BYTES is a size ("100", "1KiB").
absl::StatusOr<proxynode::v1::AbortFault> ParseAbort(const std::string& text);

// --abort-header: "Name: value" (spaces around the value dropped).
absl::StatusOr<proxynode::v1::AbortFault::Header> ParseAbortHeader(const std::string& text);

// --abort-grpc-status: a gRPC status code, 0-16, or its name ("UNAVAILABLE", any case).
absl::StatusOr<uint32_t> ParseGrpcStatus(const std::string& text);

// --header: "NAME" (present), "NAME=VALUE" (exact) or "NAME=PREFIX*" (prefix). The name is
// lower-cased, as the node keeps it.
absl::StatusOr<proxynode::v1::HeaderMatch> ParseHeaderMatch(const std::string& text);

// --bandwidth: bytes per second, "64KiB", "1MB/s", "512B" (a size, "/s" optional); > 0.
absl::StatusOr<uint64_t> ParseBandwidth(const std::string& text);

// --percent: a number, "25", "0.5" or "2%".
absl::StatusOr<double> ParsePercent(const std::string& text);

// --until: an RFC 3339 time, "2030-01-02T15:04:05Z" or with an offset; not before `now`.
absl::StatusOr<google::protobuf::Timestamp> ParseUntil(const std::string& text, absl::Time now);

// A comma-separated list for `flag` ("GET,POST"); empty items are refused.
absl::StatusOr<std::vector<std::string>> ParseFlagList(std::string_view flag,
                                                       const std::string& text);

}  // namespace proxyctl
