#include "tests/testing/control_client.h"

#include <condition_variable>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>

#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace proxynode::testing {
namespace {

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// Appends `value` as a protobuf varint.
void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Reads a varint at `*pos`; false if the bytes end inside it.
bool ReadVarint(const std::string& bytes, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *pos < bytes.size(); shift += 7) {
    auto byte = static_cast<unsigned char>(bytes[(*pos)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

// HealthCheckResponse { ServingStatus status = 1; }: the value of field 1 (0 when absent, as
// proto3 omits a zero enum). False when the bytes are not such a message.
bool ParseHealthCheckResponse(const std::string& bytes, uint64_t* status) {
  *status = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t tag = 0;
    if (!ReadVarint(bytes, &pos, &tag)) {
      return false;
    }
    if (tag == 0x08) {  // field 1, varint
      if (!ReadVarint(bytes, &pos, status)) {
        return false;
      }
    } else if ((tag & 7) == 0) {  // another varint field: skip it
      uint64_t ignored = 0;
      if (!ReadVarint(bytes, &pos, &ignored)) {
        return false;
      }
    } else if ((tag & 7) == 2) {  // a length-delimited field: skip it
      uint64_t length = 0;
      if (!ReadVarint(bytes, &pos, &length) || length > bytes.size() - pos) {
        return false;
      }
      pos += static_cast<size_t>(length);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

v1::Route ProxyRoute(const std::string& prefix, const std::vector<std::string>& upstreams) {
  v1::Route route;
  route.set_prefix(prefix);
  route.set_action(v1::Route::PROXY);
  for (const std::string& upstream : upstreams) route.add_upstreams(upstream);
  return route;
}

v1::Route RespondRoute(const std::string& prefix) {
  v1::Route route;
  route.set_prefix(prefix);
  route.set_action(v1::Route::RESPOND);
  return route;
}

const v1::UpstreamStats* FindUpstream(const v1::Stats& stats, const std::string& address) {
  for (const v1::UpstreamStats& upstream : stats.upstreams()) {
    if (upstream.address() == address) return &upstream;
  }
  return nullptr;
}

const v1::RouteStats* FindRoute(const v1::Stats& stats, const std::string& prefix) {
  for (const v1::RouteStats& route : stats.routes()) {
    if (route.prefix() == prefix) return &route;
  }
  return nullptr;
}

google::protobuf::Duration Millis(int64_t milliseconds) {
  google::protobuf::Duration duration;
  duration.set_seconds(milliseconds / 1000);
  duration.set_nanos(static_cast<int32_t>((milliseconds % 1000) * 1'000'000));
  return duration;
}

int64_t ToNanos(const google::protobuf::Duration& duration) {
  return duration.seconds() * 1'000'000'000 + duration.nanos();
}

std::string Describe(const grpc::Status& status) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  auto code = static_cast<size_t>(status.error_code());
  std::string name = code < std::size(kNames) ? kNames[code] : "code " + std::to_string(code);
  return status.ok() ? name : name + ": " + status.error_message();
}

ControlClient::ControlClient(uint16_t control_port, std::chrono::milliseconds timeout)
    : ControlClient(control_port, grpc::InsecureChannelCredentials(), timeout) {}

ControlClient::ControlClient(uint16_t control_port,
                             std::shared_ptr<grpc::ChannelCredentials> credentials,
                             std::chrono::milliseconds timeout)
    : timeout_(timeout),
      channel_(
          grpc::CreateChannel("127.0.0.1:" + std::to_string(control_port), std::move(credentials))),
      stub_(v1::ControlService::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> ControlClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  return context;
}

grpc::Status ControlClient::GetConfig(v1::NodeConfig* config) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  v1::GetConfigResponse response;
  grpc::Status status = stub_->GetConfig(context.get(), v1::GetConfigRequest(), &response);
  if (status.ok()) {
    *config = response.config();
  }
  return status;
}

grpc::Status ControlClient::UpdateConfig(const v1::UpdateConfigRequest& request,
                                         v1::UpdateConfigResponse* response) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  return stub_->UpdateConfig(context.get(), request, response);
}

grpc::Status ControlClient::Update(const v1::NodeConfig& config,
                                   const std::vector<std::string>& paths,
                                   v1::UpdateConfigResponse* response, uint64_t expected_version) {
  v1::UpdateConfigRequest request;
  *request.mutable_config() = config;
  for (const std::string& path : paths) {
    request.mutable_update_mask()->add_paths(path);
  }
  request.set_expected_version(expected_version);
  v1::UpdateConfigResponse ignored;
  return UpdateConfig(request, response != nullptr ? response : &ignored);
}

grpc::Status ControlClient::SetRoutes(const std::vector<v1::Route>& routes,
                                      v1::UpdateConfigResponse* response) {
  v1::NodeConfig config;
  for (const v1::Route& route : routes) *config.add_routes() = route;
  return Update(config, {"routes"}, response);
}

grpc::Status ControlClient::GetStats(v1::Stats* stats) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  return stub_->GetStats(context.get(), v1::GetStatsRequest(), stats);
}

grpc::Status ControlClient::ListConnections(uint32_t limit, v1::ListConnectionsResponse* response) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  v1::ListConnectionsRequest request;
  request.set_limit(limit);
  return stub_->ListConnections(context.get(), request, response);
}

grpc::Status ControlClient::Drain(v1::DrainResponse* response) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  return stub_->Drain(context.get(), v1::DrainRequest(), response);
}

grpc::Status ControlClient::WatchStats(const google::protobuf::Duration& interval, size_t count,
                                       std::chrono::milliseconds timeout,
                                       std::vector<v1::Stats>* messages) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::WatchStatsRequest request;
  *request.mutable_interval() = interval;
  std::unique_ptr<grpc::ClientReader<v1::Stats>> reader = stub_->WatchStats(&context, request);
  v1::Stats message;
  while (messages->size() < count && reader->Read(&message)) {
    messages->push_back(message);
  }
  if (messages->size() >= count) {
    context.TryCancel();
    reader->Finish();  // CANCELLED, by us
    return grpc::Status::OK;
  }
  return reader->Finish();
}

grpc::Status ControlClient::HealthCheck(const std::string& service, HealthStatus* status) {
  *status = HealthStatus::kUnknown;
  // HealthCheckRequest { string service = 1; }: nothing at all for "".
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back(0x0a);  // field 1, length-delimited
    AppendVarint(service.size(), &request_bytes);
    request_bytes += service;
  }
  std::string bytes;
  if (grpc::Status result = RawUnaryCall(kHealthCheckMethod, request_bytes, &bytes); !result.ok()) {
    return result;
  }
  uint64_t value = 0;
  if (!ParseHealthCheckResponse(bytes, &value) || value > 3) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unparsable HealthCheckResponse (" +
                                                        std::to_string(bytes.size()) + " bytes)");
  }
  *status = static_cast<HealthStatus>(value);
  return grpc::Status::OK;
}

grpc::Status ControlClient::RawUnaryCall(const std::string& method,
                                         const std::string& request_bytes,
                                         std::string* response_bytes) {
  grpc::Slice request_slice(request_bytes);
  grpc::ByteBuffer request(&request_slice, 1);
  grpc::ByteBuffer response;
  std::unique_ptr<grpc::ClientContext> context = NewContext();

  // The generic stub has only asynchronous unary calls; the deadline guarantees completion.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  grpc::Status result;
  grpc::GenericStub generic(channel_);
  generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                    [&](grpc::Status call_status) {
                      std::lock_guard<std::mutex> lock(mutex);
                      result = std::move(call_status);
                      done = true;
                      done_cv.notify_one();
                    });
  {
    std::unique_lock<std::mutex> lock(mutex);
    done_cv.wait(lock, [&] { return done; });
  }
  if (!result.ok()) {
    return result;
  }
  std::vector<grpc::Slice> slices;
  if (grpc::Status dumped = response.Dump(&slices); !dumped.ok()) {
    return dumped;
  }
  response_bytes->clear();
  for (const grpc::Slice& slice : slices) {
    response_bytes->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return grpc::Status::OK;
}

}  // namespace proxynode::testing
