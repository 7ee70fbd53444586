// Http2Session's proxied streams: a request forwarded as a stream of its own to an HTTP/2
// upstream (Http2ProxyCall), and the upstream's head, body and trailers handed to nghttp2 as
// they come (http2_session.h).

#include "common/grpc_status.h"
#include "dataplane/http2/http2_fields.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/server/http2_callbacks.h"
#include "dataplane/server/http2_session.h"
#include "dataplane/server/response_decision.h"

namespace proxynode {
namespace {

constexpr std::string_view kGrpcUpstreamFailed =
    "proxynode: the upstream could not be reached or broke the call (HTTP 502)";
constexpr std::string_view kGrpcUpstreamTimeout =
    "proxynode: the upstream did not answer in time (HTTP 504)";

std::string_view TrimNewline(std::string_view text) {
  return text.ends_with('\n') ? text.substr(0, text.size() - 1) : text;
}

}  // namespace

void Http2Session::StartCall(Http2Stream& stream, const ResponsePlan& plan,
                             RouteState& route_state) {
  PendingResponse& response = stream.response;
  response.proxied = true;
  response.deadline = now();  // the call keeps the route's delay itself
  if (stream.call == nullptr) {
    stream.call = std::make_unique<Http2ProxyCall>(context_->serving->exchanges.context());
  }
  if (peer_.length == 0) {
    peer_ = host_->peer();
  }
  stream.proxied = true;
  stream.call->Start(*this, context_->snapshots.Pin(), *plan.proxy_route, route_state,
                     stream.request, peer_.Host(), plan.delay, stream.request_ended, stream.id);
}

void Http2Session::OnCallProgress(Http2ProxyCall& call) {
  if (closed() || lingering_ || session_ == nullptr) {
    return;
  }
  auto* stream = static_cast<Http2Stream*>(
      nghttp2_session_get_stream_user_data(session_, call.client_stream()));
  if (stream == nullptr || stream->call.get() != &call) {
    return;
  }
  ApplyCall(*stream);
  Flush();
  if (!closed()) {
    Settle();
  }
}

void Http2Session::ApplyCall(Http2Stream& stream) {
  Http2ProxyCall& call = *stream.call;
  if (const size_t sent = call.TakeRequestBytesSent(); sent > 0) {
    nghttp2_session_consume(session_, stream.id, sent);  // the client may send as much again
  }
  const Http2ProxyCall::State state = call.state();
  PendingResponse& response = stream.response;
  switch (stream.phase) {
    case Http2Stream::Phase::kDecided: {
      if (state == Http2ProxyCall::State::kFailed || state == Http2ProxyCall::State::kAborted) {
        // Nothing reached the client: it gets the error as the node's own answer, which
        // a gRPC call reads as UNAVAILABLE (said in grpc-status, with why).
        response.status = call.error_status() != 0 ? call.error_status() : 502;
        response.body = ErrorBody(response.status);
        response.content_type = "text/plain";
        response.deadline = now();
        // What the call held of the upload is dropped: the client's window gets it back.
        nghttp2_session_consume(session_, stream.id, call.DropRequestBody());
        if (call.tls_failure() != nullptr) {
          // Said plainly: a certificate problem is the operator's to fix.
          response.owns_body = true;
          response.owned_body.assign(UpstreamTlsFailureBody(call.tls_failure()));
        }
        if (stream.request.grpc()) {
          response.grpc_status = kGrpcStatusUnavailable;
          response.grpc_message = response.status == 504 ? kGrpcUpstreamTimeout
                                  : response.owns_body   ? TrimNewline(response.owned_body)
                                                         : kGrpcUpstreamFailed;
          if (response.route_stats != nullptr) {
            response.route_stats->CountGrpcStatus(kGrpcStatusUnavailable);
          }
        }
        stream.proxied = false;
        if (!stream.request_ended) {
          stream.upload_refused = true;  // the rest of the upload is refused after the answer
          stream.request_ended = true;
        }
        MaybeRespond(stream);
        return;
      }
      if (!call.has_head()) {
        return;
      }
      if (response.proxy_hold > 0 && !response.hold_after_head) {
        // A fault rule's delay on the response: the upstream's head waits here.
        if (stream.head_at == 0) {
          stream.head_at = now() + response.proxy_hold;
        }
        if (now() < stream.head_at) {
          stream.timer.ArmAt(stream.head_at);
          return;
        }
      }
      SubmitProxiedHead(stream);
      return;
    }
    case Http2Stream::Phase::kAnswered:
      if (state == Http2ProxyCall::State::kAborted) {
        SubmitReset(stream, call.reset_code());  // the upstream broke mid-response
        return;
      }
      nghttp2_session_resume_data(session_, stream.id);
      return;
    case Http2Stream::Phase::kHeaders:
    case Http2Stream::Phase::kDone:
      return;
  }
}

void Http2Session::SubmitProxiedHead(Http2Stream& stream) {
  Http2ProxyCall& call = *stream.call;
  PendingResponse& response = stream.response;
  response.status = call.response_status();
  std::vector<nghttp2_nv>& fields = stream.proxied_fields;
  fields.clear();
  fields.push_back(Http2Field(
      ":status", Http2Number(stream.status_text, static_cast<uint64_t>(response.status))));
  const FieldList& head = call.response_fields();
  for (size_t i = 0; i < head.size(); ++i) {
    fields.push_back(Http2Field(head.name(i), head.value(i)));
  }
  if (!response.fault_tag.empty()) {
    fields.push_back(Http2Field("x-proxynode-fault", response.fault_tag));
  }
  if (response.hold_after_head) {
    stream.body_at = now() + response.proxy_hold;  // a fault's first-byte delay
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = ReadResponseBody;
  stream.phase = Http2Stream::Phase::kAnswered;
  StartPacing(stream);
  if (nghttp2_submit_response(session_, stream.id, fields.data(), fields.size(),
                              call.ended_at_head() ? nullptr : &provider) != 0) {
    stream.phase = Http2Stream::Phase::kDone;
    ledger_.Release(response);  // the stream is gone already
  }
}

ssize_t Http2Session::ReadProxiedBody(Http2Stream& stream, uint8_t* buffer, size_t length,
                                      uint32_t* flags) {
  if (now() < stream.body_at) {
    stream.timer.ArmAt(stream.body_at);
    return NGHTTP2_ERR_DEFERRED;
  }
  length = PacedLength(stream, length);  // a fault's bandwidth on the upstream's body
  if (length == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  const ssize_t read = stream.call->ReadResponseBody(buffer, length, flags);
  if (read > 0) {
    stream.body_sent += static_cast<uint64_t>(read);
    SpendPaced(stream, static_cast<size_t>(read));
  }
  if ((*flags & NGHTTP2_DATA_FLAG_NO_END_STREAM) != 0) {
    // The body is over; the upstream's trailers end the stream (gRPC's status is in them).
    std::vector<nghttp2_nv>& fields = stream.proxied_fields;
    FillHttp2Fields(stream.call->response_trailers(), fields);
    nghttp2_submit_trailer(session_, stream.id, fields.data(), fields.size());
  }
  return read;
}

}  // namespace proxynode
