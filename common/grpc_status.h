#pragma once

// gRPC's status codes by name, in code order (0 OK ... 16 UNAUTHENTICATED), as gRPC's own
// documentation spells them (doc/statuscodes.md). Shared by the data plane's stats, the
// control plane's answers and proxyctl's flags, so a code reads the same everywhere.
//
// Thread contract: constants only.

#include <array>
#include <cstddef>
#include <string_view>

namespace proxynode {

inline constexpr size_t kGrpcStatusCount = 17;

inline constexpr std::array<std::string_view, kGrpcStatusCount> kGrpcStatusNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// gRPC's UNKNOWN: what a status outside the known codes reads as (gRPC's spec).
inline constexpr int kGrpcStatusCancelled = 1;
inline constexpr int kGrpcStatusUnknown = 2;
inline constexpr int kGrpcStatusInternal = 13;
inline constexpr int kGrpcStatusUnavailable = 14;

// The status a gRPC client reports for a response without grpc-status, from its HTTP status
// (gRPC's doc/http-grpc-status-mapping.md).
inline constexpr int GrpcStatusForHttp(int http_status) {
  switch (http_status) {
    case 400:
      return kGrpcStatusInternal;
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return kGrpcStatusUnavailable;
    default:
      return kGrpcStatusUnknown;
  }
}

}  // namespace proxynode
