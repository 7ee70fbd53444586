#pragma once

// gRPC's own log lines (gpr_log: transport errors, TLS handshake failures, ...) go to stderr in
// its own format by default; this routes them into the node's JSON log, at the node's level.

namespace proxynode {

// Call once, before the first gRPC object is created.
void RouteGrpcLogsToJsonLog();

}  // namespace proxynode
