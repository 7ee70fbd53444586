#include "dataplane/proxy/http2_proxy_call.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/grpc_status.h"
#include "dataplane/http2/http2_fields.h"

namespace proxynode {
namespace {

// Attempts for one call: the first plus retries of failed connects and refused streams.
constexpr int kMaxAttempts = 3;

}  // namespace

Http2ProxyCall::Http2ProxyCall(ProxyContext& context)
    : context_(context),
      pools_(context.upstreams),
      timer_(context.loop.timers(), [this] { OnTimer(); }) {}

Http2ProxyCall::~Http2ProxyCall() { Recycle(); }

void Http2ProxyCall::Start(Client& client, SnapshotRef snapshot, const RouteConfig& route,
                           RouteState& route_state, const Http2RequestBuilder& request,
                           std::string_view client_ip, Nanos delay, bool request_ended,
                           int32_t client_stream) {
  client_ = &client;
  client_stream_ = client_stream;
  snapshot_ = std::move(snapshot);
  route_ = &route;
  route_state_ = &route_state;
  request_ = &request;
  forwarded_for_.assign(client_ip);
  request_ended_ = request_ended;
  start_at_ = now() + delay;
  state_ = State::kDelaying;
  in_client_call_ = true;
  if (delay > 0) {
    timer_.ArmAt(start_at_);
  } else {
    Begin();
  }
  in_client_call_ = false;
  changed_ = false;  // the client looks at state() after Start
}

void Http2ProxyCall::Recycle() {
  if (state_ == State::kIdle) {
    return;
  }
  Cancel();
  timer_.Cancel();
  snapshot_.Reset();
  client_ = nullptr;
  client_stream_ = 0;
  route_ = nullptr;
  route_state_ = nullptr;
  request_ = nullptr;
  upstream_address_ = nullptr;
  request_nv_.clear();
  forwarded_for_.clear();
  request_trailers_.Clear();
  trailer_nv_.clear();
  request_body_.Consume(request_body_.size());
  request_body_.ReleaseIfEmpty(context_.pool);
  request_bytes_sent_ = 0;
  request_body_taken_ = 0;
  response_fields_.Clear();
  response_trailers_.Clear();
  response_body_.Consume(response_body_.size());
  response_body_.ReleaseIfEmpty(context_.pool);
  start_at_ = 0;
  began_at_ = 0;
  first_byte_deadline_ = 0;
  total_deadline_ = 0;
  upstream_time_ = -1;
  attempts_ = 0;
  status_ = 0;
  error_status_ = 0;
  reset_code_ = NGHTTP2_INTERNAL_ERROR;
  tls_failure_ = nullptr;
  request_ended_ = false;
  body_deferred_ = false;
  interim_ = false;
  has_head_ = false;
  head_too_large_ = false;
  ended_at_head_ = false;
  response_ended_ = false;
  upstream_closed_ = false;
  loss_ = UpstreamLoss::kNone;
  closed_error_ = 0;
  response_bytes_ = 0;
  changed_ = false;
  state_ = State::kIdle;
}

void Http2ProxyCall::Begin() {
  state_ = State::kWaiting;
  began_at_ = now();
  total_deadline_ = began_at_ + route_->total_timeout;
  Open(/*avoid=*/nullptr);
}

void Http2ProxyCall::Open(const UpstreamPool* avoid) {
  ++attempts_;
  const UpstreamTarget target = pools_.PickTarget(*route_, *route_state_, now(), avoid);
  pool_ = target.pool;
  upstream_address_ = target.address_text;
  pool_->stats().requests.Add();
  pool_->AddOutstanding(1);
  outstanding_ = true;
  bool reused = false;
  session_ = pool_->AcquireHttp2(target.address, now() + route_->connect_timeout, &reused,
                                 target.tls_or_null());
  if (session_ == nullptr) {
    // Out of descriptors or memory is this node's trouble: no ejection, no retry.
    const bool local = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    loss_ = local ? UpstreamLoss::kBroken : UpstreamLoss::kConnectFailed;
    if (!local) {
      pool_->OnConnectFailed(now());
    }
    upstream_closed_ = true;
    HandleLoss();
    return;
  }
  // The request as received, but :scheme says what the upstream connection is, and the hop
  // is recorded (X-Forwarded-For, Via), as over HTTP/1.1.
  request_nv_.clear();
  const FieldList& fields = request_->fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string_view name = fields.name(i);
    if (name == "expect") {
      continue;  // HTTP/2 has no 100 Continue to wait for
    }
    request_nv_.push_back(Http2Field(name, name == ":scheme" ? "http" : fields.value(i)));
  }
  if (!forwarded_for_.empty()) {
    request_nv_.push_back(Http2Field("x-forwarded-for", forwarded_for_));
  }
  request_nv_.push_back(Http2Field("via", "2 proxynode"));
  const bool has_body = !request_ended_ || !request_body_.empty() || !request_trailers_.empty();
  stream_id_ = session_->Submit(*this, request_nv_.data(), request_nv_.size(), has_body);
  if (stream_id_ == 0) {
    session_ = nullptr;
    loss_ = UpstreamLoss::kBroken;
    upstream_closed_ = true;
    HandleLoss();
    return;
  }
  upstream_closed_ = false;
  if (request_ended_) {
    first_byte_deadline_ = now() + route_->first_byte_timeout;
  }
  ArmTimer();
}

bool Http2ProxyCall::CanRetry() const {
  // Resent whole, or not at all: none of the body may have left for the upstream.
  return attempts_ < kMaxAttempts && request_body_taken_ == 0 && !has_head_;
}

void Http2ProxyCall::HandleLoss() {
  upstream_closed_ = false;
  session_ = nullptr;
  stream_id_ = 0;
  if (has_head_) {
    pool_->stats().errors.broken.Add();
    reset_code_ = closed_error_ == NGHTTP2_CANCEL ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR;
    Fail(ProxyFailure::kBroken);
    return;
  }
  if (loss_ == UpstreamLoss::kTlsFailed) {
    pool_->stats().errors.tls.Add();  // then as a failed connect: another upstream may do
  }
  const bool connect_failed =
      loss_ == UpstreamLoss::kConnectFailed || loss_ == UpstreamLoss::kTlsFailed;
  // RFC 9113 8.7: a refused stream was not processed; it may go again as it was.
  const bool refused = loss_ == UpstreamLoss::kNone && closed_error_ == NGHTTP2_REFUSED_STREAM;
  if (loss_ == UpstreamLoss::kConnectTimeout) {
    Fail(ProxyFailure::kConnectTimeout);
    return;
  }
  if (loss_ == UpstreamLoss::kConnectFailed) {
    pool_->stats().errors.connect_failed.Add();
  }
  if ((connect_failed || refused) && CanRetry()) {
    UpstreamPool* previous = pool_;
    ReleasePool();
    loss_ = UpstreamLoss::kNone;
    closed_error_ = 0;
    Open(connect_failed ? previous : nullptr);
    return;
  }
  if (!connect_failed) {
    pool_->stats().errors.broken.Add();
  }
  Fail(connect_failed ? ProxyFailure::kConnectFailed : ProxyFailure::kBroken);
}

void Http2ProxyCall::Fail(ProxyFailure failure) {
  if (pool_ != nullptr) {
    CountTimeout(pool_->stats().errors, failure);
  }
  route_state_->stats->errors.Add();
  if (has_head_ && request_->grpc()) {
    // The client sees its stream reset mid-response: gRPC reports that as INTERNAL.
    route_state_->stats->CountGrpcStatus(kGrpcStatusInternal);
  }
  DetachUpstream(NGHTTP2_CANCEL);
  ReleasePool();
  timer_.Cancel();
  changed_ = true;
  if (has_head_) {
    state_ = State::kAborted;
    return;
  }
  state_ = State::kFailed;
  error_status_ = StatusFor(failure);
}

void Http2ProxyCall::Finish() {
  state_ = State::kEnded;
  timer_.Cancel();
  upstream_time_ = now() - began_at_;
  if (pool_ != nullptr) {
    pool_->stats().latency.Record(upstream_time_);
  }
  if (request_->grpc()) {
    // The call's status is in its trailers, or in the head of a trailers-only response.
    std::string_view text = response_trailers_.Find("grpc-status");
    if (text.empty()) {
      text = response_fields_.Find("grpc-status");
    }
    int code = GrpcStatusForHttp(status_);
    if (!text.empty()) {
      code = kGrpcStatusUnknown;
      std::from_chars(text.data(), text.data() + text.size(), code);
    }
    route_state_->stats->CountGrpcStatus(code);
  }
  ReleasePool();
  changed_ = true;
}

void Http2ProxyCall::ReleasePool() {
  if (pool_ != nullptr && outstanding_) {
    pool_->AddOutstanding(-1);
  }
  outstanding_ = false;
}

void Http2ProxyCall::DetachUpstream(uint32_t error_code) {
  if (session_ == nullptr) {
    return;
  }
  // What arrived and was never taken still counts against the connection's window.
  session_->Consume(stream_id_, response_body_.size());
  session_->Cancel(stream_id_, error_code);
  session_ = nullptr;
  stream_id_ = 0;
}

void Http2ProxyCall::Cancel() {
  switch (state_) {
    case State::kDelaying:
    case State::kWaiting:
    case State::kStreaming:
      if (pool_ != nullptr) {
        pool_->stats().cancelled.Add();
      }
      DetachUpstream(NGHTTP2_CANCEL);
      ReleasePool();
      timer_.Cancel();
      state_ = State::kAborted;
      break;
    case State::kEnded:
      DetachUpstream(NGHTTP2_CANCEL);  // the request side may still be open upstream
      break;
    case State::kIdle:
    case State::kFailed:
    case State::kAborted:
      break;
  }
}

void Http2ProxyCall::OnUpstreamProgress() {
  if (state_ != State::kWaiting && state_ != State::kStreaming) {
    Notify();  // request bytes the upstream took after the response ended
    return;
  }
  if (head_too_large_ && has_head_) {
    pool_->stats().errors.broken.Add();
    has_head_ = false;  // never shown to the client: it gets a 502
    Fail(ProxyFailure::kBroken);
  } else if (response_ended_ && state_ != State::kEnded) {
    if (state_ == State::kWaiting) {
      state_ = State::kStreaming;
    }
    Finish();
  } else if (upstream_closed_) {
    HandleLoss();
  } else if (has_head_ && state_ == State::kWaiting) {
    state_ = State::kStreaming;
  }
  Notify();
}

void Http2ProxyCall::OnTimer() {
  context_.loop.UpdateNow();
  if (state_ == State::kDelaying) {
    changed_ = true;
    Begin();
  } else if (state_ == State::kWaiting || state_ == State::kStreaming) {
    if (now() >= total_deadline_) {
      Fail(ProxyFailure::kTotalTimeout);
    } else if (!has_head_ && first_byte_deadline_ != 0 && now() >= first_byte_deadline_) {
      Fail(ProxyFailure::kFirstByteTimeout);
    } else {
      ArmTimer();
    }
  }
  Notify();
}

void Http2ProxyCall::ArmTimer() {
  MonoTime deadline = total_deadline_;
  if (!has_head_ && first_byte_deadline_ != 0) {
    deadline = std::min(deadline, first_byte_deadline_);
  }
  timer_.ArmAt(deadline);
}

void Http2ProxyCall::Notify() {
  if (in_client_call_ || !changed_ || client_ == nullptr) {
    return;
  }
  changed_ = false;
  client_->OnCallProgress(*this);
}

}  // namespace proxynode
