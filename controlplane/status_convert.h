#pragma once

// absl::Status and grpc::Status are distinct types with no conversion in gRPC 1.51: the
// control plane maps them here and nowhere else.

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace proxynode {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  // The canonical codes share their numbering (google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace proxynode
