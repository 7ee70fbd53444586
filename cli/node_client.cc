#include "cli/node_client.h"

#include <cctype>
#include <thread>

#include "cli/units.h"

namespace proxyctl {
namespace {

using proxynode::v1::ControlService;

// gRPC's connection errors are long chains ("failed to connect to all addresses; last
// error: UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: Connection
// refused"); the last link is the cause a user can act on.
std::string Cause(const std::string& message) {
  size_t colon = message.rfind(": ");
  std::string cause = colon == std::string::npos ? message : message.substr(colon + 2);
  if (cause.empty()) return message;
  cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  return cause;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A failed TLS handshake (or a TLS/plaintext mismatch) explained, from the connection error
// gRPC 1.51 reports; empty when the message is not about that. The messages:
//   "...: Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate
//   verify failed" (wrong CA), "...::wrong version number" (the node speaks plaintext),
//   "...: Peer name x is not in peer certificate", and "...: Socket closed" when the node
//   hangs up: a TLS node on a plaintext connection, or one that wants a client certificate.
std::string ConnectionProblem(const std::string& message, bool tls) {
  if (message.find("Ssl handshake failed") != std::string::npos) {
    std::string reason = message.substr(message.rfind(':') + 1);  // OpenSSL's reason string
    std::string hint;
    if (reason == "wrong version number") {
      hint = " (is the node's control port plaintext? then leave out --tls_ca)";
    } else if (reason == "certificate verify failed") {
      hint = " (the node's certificate is not signed by the --tls_ca CA, or has expired)";
    }
    return "TLS handshake failed: " + reason + hint;
  }
  if (message.find("is not in peer certificate") != std::string::npos) {
    return "TLS handshake failed: " + Cause(message) +
           " (--tls_server_name sets the name to expect)";
  }
  if (message.find("http1.x server") != std::string::npos) {
    return "the address is an HTTP/1 server, not the control port (the node's data or admin "
           "port? its control port is --control_listen, 127.0.0.1:9090 by default)";
  }
  if (EndsWith(message, "Socket closed") || EndsWith(message, "Connection reset by peer")) {
    return tls ? "the node closed the connection in the TLS handshake (it may require a "
                 "client certificate signed by its CA: --tls_cert and --tls_key)"
               : "the node closed the connection (if its control port uses TLS, pass "
                 "--tls_ca)";
  }
  return "";
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "ERROR";
  }
}

int64_t Nanos(std::chrono::milliseconds duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

}  // namespace

Outcome OutcomeFromStatus(const std::string& address, std::chrono::milliseconds timeout,
                          const grpc::Status& status, bool connected, bool tls) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return Outcome{};
    case grpc::StatusCode::UNAVAILABLE: {
      std::string problem = ConnectionProblem(status.error_message(), tls);
      return Outcome::Failure(kExitUnreachable,
                              OneLine("cannot reach " + address + ": " +
                                      (problem.empty() ? Cause(status.error_message()) : problem)));
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (!connected) {
        return Outcome::Failure(
            kExitUnreachable,
            "cannot reach " + address + ": no answer within " + FormatDuration(Nanos(timeout)));
      }
      return Outcome::Failure(kExitRefused, address + ": no response within " +
                                                FormatDuration(Nanos(timeout)) +
                                                " (connected; the node is slow)");
    default: {
      Outcome refused = Outcome::Failure(
          kExitRefused,
          OneLine(std::string(CodeName(status.error_code())) + ": " + status.error_message()));
      refused.refusal = status.error_code();
      return refused;
    }
  }
}

NodeClient::NodeClient(std::string address, std::chrono::milliseconds timeout,
                       const Transport& transport)
    : address_(std::move(address)), timeout_(timeout), tls_(transport.tls != nullptr) {
  grpc::ChannelArguments args;
  // A node with tens of thousands of connections lists more than gRPC's default 4 MiB.
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  if (tls_ && !transport.server_name.empty()) {
    // GRPC_SSL_TARGET_NAME_OVERRIDE_ARG: the certificate is checked against this name (also
    // sent as SNI) instead of the host in the address.
    args.SetSslTargetNameOverride(transport.server_name);
  }
  channel_ = grpc::CreateCustomChannel(
      address_, tls_ ? transport.tls : grpc::InsecureChannelCredentials(), args);
  stub_ = ControlService::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> NodeClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  // Fail fast (the default): a refused connection fails at once with UNAVAILABLE, and a
  // node that never answers hits the deadline.
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  return context;
}

Outcome NodeClient::Finish(const grpc::Status& status) const {
  bool connected = channel_->GetState(false) == GRPC_CHANNEL_READY;
  return OutcomeFromStatus(address_, timeout_, status, connected, tls_);
}

Outcome NodeClient::GetConfig(proxynode::v1::NodeConfig* config) {
  proxynode::v1::GetConfigResponse response;
  Outcome outcome = Finish(stub_->GetConfig(NewContext().get(), {}, &response));
  *config = response.config();
  return outcome;
}

Outcome NodeClient::GetConfig(proxynode::v1::GetConfigResponse* response) {
  return Finish(stub_->GetConfig(NewContext().get(), {}, response));
}

Outcome NodeClient::GetConfigHistory(const proxynode::v1::GetConfigHistoryRequest& request,
                                     proxynode::v1::GetConfigHistoryResponse* response) {
  return Finish(stub_->GetConfigHistory(NewContext().get(), request, response));
}

Outcome NodeClient::RollbackConfig(const proxynode::v1::RollbackConfigRequest& request,
                                   proxynode::v1::UpdateConfigResponse* response) {
  return Finish(stub_->RollbackConfig(NewContext().get(), request, response));
}

Outcome NodeClient::UpdateConfig(const proxynode::v1::UpdateConfigRequest& request,
                                 proxynode::v1::UpdateConfigResponse* response) {
  return Finish(stub_->UpdateConfig(NewContext().get(), request, response));
}

Outcome NodeClient::GetStats(proxynode::v1::Stats* stats) {
  return Finish(stub_->GetStats(NewContext().get(), {}, stats));
}

Outcome NodeClient::ListConnections(uint32_t limit,
                                    proxynode::v1::ListConnectionsResponse* response) {
  proxynode::v1::ListConnectionsRequest request;
  request.set_limit(limit);
  return Finish(stub_->ListConnections(NewContext().get(), request, response));
}

Outcome NodeClient::Drain(proxynode::v1::DrainResponse* response) {
  return Finish(stub_->Drain(NewContext().get(), {}, response));
}

Outcome NodeClient::WatchStats(std::chrono::milliseconds interval,
                               const std::function<bool(const proxynode::v1::Stats&)>& on_stats) {
  // The stream has no deadline (it runs until stopped); reachability is checked first with
  // a GetStats, which has one, so an unreachable node fails within the timeout.
  proxynode::v1::Stats probe;
  if (Outcome outcome = GetStats(&probe); !outcome.ok()) return outcome;

  grpc::ClientContext context;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    if (watch_cancelled_) return Outcome{};
    watch_context_ = &context;
  }
  proxynode::v1::WatchStatsRequest request;
  request.mutable_interval()->set_seconds(interval.count() / 1000);
  request.mutable_interval()->set_nanos(static_cast<int32_t>(interval.count() % 1000 * 1'000'000));
  std::unique_ptr<grpc::ClientReader<proxynode::v1::Stats>> reader =
      stub_->WatchStats(&context, request);
  proxynode::v1::Stats stats;
  bool stopped_by_caller = false;
  while (reader->Read(&stats)) {
    if (!on_stats(stats)) {
      stopped_by_caller = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  bool cancelled;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_context_ = nullptr;
    cancelled = watch_cancelled_;
  }
  if (stopped_by_caller || cancelled) return Outcome{};
  if (status.ok()) {
    return Outcome::Failure(kExitUnreachable, address_ + ": the node ended the stream");
  }
  return Finish(status);
}

void NodeClient::CancelWatch() {
  std::lock_guard<std::mutex> lock(watch_mutex_);
  watch_cancelled_ = true;
  if (watch_context_ != nullptr) watch_context_->TryCancel();
}

}  // namespace proxyctl
