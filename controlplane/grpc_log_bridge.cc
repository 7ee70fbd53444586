#include "controlplane/grpc_log_bridge.h"

#include <string_view>

#include "controlplane/json_log.h"
#include "grpc/support/log.h"

namespace proxynode {
namespace {

void ForwardGrpcLog(gpr_log_func_args* args) {
  // gRPC's info lines describe its own machinery (pollers, epoll fds): debug for the node.
  // A failed TLS handshake is a client's mistake (or a port scan), not the node's: warning.
  const std::string_view message = args->message != nullptr ? args->message : "";
  LogLevel level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    level = message.find("Handshake failed") != std::string_view::npos ? LogLevel::kWarning
                                                                       : LogLevel::kError;
  }
  Log(level, message,
      {{"source", "grpc"},
       {"file", args->file != nullptr ? args->file : ""},
       {"line", args->line}});
}

}  // namespace

void RouteGrpcLogsToJsonLog() {
  // gRPC filters by its own verbosity before calling the function: let everything through at
  // debug, so the node's --log_level alone decides.
  gpr_set_log_verbosity(LogEnabled(LogLevel::kDebug) ? GPR_LOG_SEVERITY_DEBUG
                                                     : GPR_LOG_SEVERITY_INFO);
  gpr_set_log_function(ForwardGrpcLog);
}

}  // namespace proxynode
