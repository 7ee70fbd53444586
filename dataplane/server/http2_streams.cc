// Http2Session's streams: each request's decision, its response (or the fault in its
// place) after its delay, and the books kept on both (http2_session.h).

#include <cstring>

#include "absl/strings/ascii.h"
#include "dataplane/http2/grpc_message.h"
#include "dataplane/http2/http2_fields.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/http2_callbacks.h"
#include "dataplane/server/http2_session.h"
#include "dataplane/server/response_decision.h"

namespace proxynode {
namespace {

// Every frame starts with a 9-byte header (RFC 9113 4.1).
constexpr uint64_t kFrameHeaderBytes = 9;

bool Bodiless(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

int Http2Session::OnBeginHeaders(int32_t stream_id) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (active_.size() >= kMaxConcurrentStreams) {
    // Before the client has our SETTINGS it may open more: those are refused, and retried.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  Http2Stream* stream = AcquireStream(stream_id);
  const ConfigSnapshot& config = context_->snapshots.current();
  stream->request.Begin(ParserLimits{.max_header_bytes = config.max_header_bytes,
                                     .max_body_bytes = config.max_body_bytes});
  nghttp2_session_set_stream_user_data(session_, stream_id, stream);
  return 0;
}

int Http2Session::OnHeader(Http2Stream& stream, std::string_view name, std::string_view value) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  stream.request.Add(name, value);
  return 0;
}

int Http2Session::OnTrailer(Http2Stream& stream, std::string_view name, std::string_view value) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (stream.proxied) {
    stream.call->OnRequestTrailer(name, value);
  }
  return 0;  // the node's own answer needs no trailers
}

int Http2Session::OnFrameReceived(const nghttp2_frame& frame) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  const int32_t id = frame.hd.stream_id;
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  auto* stream = static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS:
      if (stream == nullptr) {
        return 0;
      }
      stream->request_ended = stream->request_ended || end_stream;
      if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
        OnRequestHeaders(*stream);
      } else if (stream->proxied) {
        stream->call->OnRequestEnd();  // trailers ended the request
        ApplyCall(*stream);
      } else {
        MaybeRespond(*stream);  // trailers ended the request
      }
      break;
    case NGHTTP2_DATA:
      if (stream != nullptr && end_stream) {
        stream->request_ended = true;
        if (stream->proxied) {
          stream->call->OnRequestEnd();
          ApplyCall(*stream);
        } else {
          MaybeRespond(*stream);
        }
      }
      break;
    case NGHTTP2_RST_STREAM:
      if (CountClientReset()) {
        // The rapid-reset pattern: streams opened and cancelled faster than any client
        // needs. The connection ends; the node goes on serving everyone else.
        context_->stats.rejected.http2_flood.Add();
        nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
        goaway_sent_ = true;
      }
      break;
    default:
      break;
  }
  return 0;
}

int Http2Session::OnData(int32_t stream_id, std::string_view data) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  const size_t length = data.size();
  auto* stream =
      static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  if (stream != nullptr && stream->proxied) {
    // Its window opens as the upstream takes it (ApplyCall). No max_body_bytes: a streaming
    // call's body has no end to measure; flow control bounds what is held.
    stream->body_bytes += length;
    stream->call->OnRequestData(data);
    return 0;
  }
  nghttp2_session_consume(session_, stream_id, length);  // the node's own: read, dropped
  if (stream == nullptr) {
    return 0;
  }
  stream->body_bytes += length;
  if (stream->body_bytes > context_->snapshots.current().max_body_bytes &&
      stream->phase == Http2Stream::Phase::kDecided) {
    context_->stats.rejected.body_too_large.Add();
    ledger_.Release(stream->response);
    stream->response = PendingResponse{};
    stream->upload_refused = true;
    AnswerNow(*stream, 413);
  }
  return 0;
}

int Http2Session::OnFrameSent(const nghttp2_frame& frame) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) {
    return 0;
  }
  auto* stream =
      static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, frame.hd.stream_id));
  if (stream == nullptr || stream->phase != Http2Stream::Phase::kAnswered) {
    return 0;
  }
  stream->response_bytes += kFrameHeaderBytes + frame.hd.length;
  if ((frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    stream->phase = Http2Stream::Phase::kDone;
    ResponseEnd end{.bytes_out = stream->response_bytes};
    if (stream->proxied) {
      end.upstream = stream->call->upstream_address();
      end.upstream_time = stream->call->upstream_time();
    }
    ledger_.Complete(stream->response, stream->response.status, now(), end);
    if (stream->upload_refused) {
      // The 413 is out; the client stops sending the body it still had.
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_NO_ERROR);
    }
  } else if (frame.hd.type == NGHTTP2_DATA && stream->response.abort == AbortKind::kCut &&
             stream->body_sent >= stream->response.after_bytes) {
    // A cut response: the promised body stops short, and the stream is reset.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_INTERNAL_ERROR);
    stream->phase = Http2Stream::Phase::kDone;
    ledger_.Complete(stream->response, stream->response.status, now(),
                     {.bytes_out = stream->response_bytes});
  }
  return 0;
}

int Http2Session::OnStreamClose(int32_t stream_id) {
  if (closed()) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  auto* stream =
      static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  if (stream == nullptr) {
    return 0;
  }
  if (stream->phase != Http2Stream::Phase::kDone) {
    ledger_.Release(stream->response);  // the client reset it, or it never got its answer
  }
  if (stream->proxied) {
    // The upload the call still held counts against the connection's window until taken.
    nghttp2_session_consume(session_, stream_id, stream->call->DropRequestBody());
  }
  ReleaseStream(stream);
  return 0;
}

ssize_t Http2Session::ReadBody(Http2Stream& stream, uint8_t* buffer, size_t length,
                               uint32_t* flags) {
  if (stream.proxied) {
    return ReadProxiedBody(stream, buffer, length, flags);
  }
  if (now() < stream.body_at) {
    stream.timer.ArmAt(stream.body_at);  // a first-byte delay: the head left, the body waits
    return NGHTTP2_ERR_DEFERRED;
  }
  length = PacedLength(stream, length);
  if (length == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  const PendingResponse& response = stream.response;
  const std::string_view body = response.body_text();
  uint64_t end = body.size();
  if (response.abort == AbortKind::kCut) {
    end = std::min<uint64_t>(end, response.after_bytes);
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(length, end - stream.body_sent));
  std::memcpy(buffer, body.data() + stream.body_sent, n);
  stream.body_sent += n;
  SpendPaced(stream, n);
  if (stream.body_sent == end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (response.abort == AbortKind::kCut) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;  // OnFrameSent resets the stream
    }
  }
  return static_cast<ssize_t>(n);
}

void Http2Session::OnRequestHeaders(Http2Stream& stream) {
  WorkerContext& context = *context_;
  context.stats.requests.Add();
  context.stats.http2_requests.Add();
  const int refused = stream.request.Finish();
  if (refused != 0) {
    CountRejection(refused);
    AnswerNow(stream, refused);
    return;
  }
  const RequestHead& head = stream.request.head();
  const RequestFacts facts{.head = head,
                           .head_block = stream.request.head_block(),
                           .config = context.snapshots.current(),
                           .now = now(),
                           .requests_on_connection = host_->CountRequest(),
                           .nothing_owed = true,
                           .host = host_,
                           .http2 = true};
  ServingContext* serving = context.serving;
  ResponseDecision decision = DecideInWorker(facts, context);
  ResponsePlan& plan = decision.plan;
  // A request starts when its bytes arrived (when known), as over HTTP/1.1.
  MonoTime started = arrived_at_;
  if (started == 0) {
    started = plan.delay > 0 || plan.first_byte_delay > 0 ? context.loop.UpdateNow() : now();
  }
  ledger_.Fill(stream.response, head, decision, started, context.snapshots.Pin());
  stream.phase = Http2Stream::Phase::kDecided;
  if (context.access != nullptr) {
    RecordAccess(stream, plan);
  }
  if (plan.delay > 0) {
    host_->EnableArrivalStamps();  // from the next read on, delays count from arrival
  }
  if (plan.route != nullptr && serving != nullptr) {
    RouteState& route_state = serving->upstreams.ForRoute(plan.route->prefix);
    route_state.stats->requests.Add();
    if (plan.delay > 0) {
      route_state.stats->delayed.Add();
    }
    stream.response.route_stats = route_state.stats.get();
    if (plan.proxy_route != nullptr) {
      StartCall(stream, plan, route_state);
    }
  }
  if (decision.closes_at_max_requests) {
    // max_requests_per_connection: the client takes its next requests to a new connection.
    context.stats.closed_max_requests.Add();
    Goaway(NGHTTP2_NO_ERROR);
  }
  if (stream.proxied) {
    ApplyCall(stream);
  } else {
    MaybeRespond(stream);
  }
}

void Http2Session::RecordAccess(Http2Stream& stream, const ResponsePlan& plan) {
  const RequestHead& head = stream.request.head();
  PendingResponse& entry = stream.response;
  AccessRecord* record = context_->access->Begin(entry.started, head.method, head.target,
                                                 head.header_bytes + head.content_length);
  if (record == nullptr) {
    return;  // not in the sample
  }
  if (peer_.length == 0) {
    peer_ = host_->peer();  // one getpeername per connection logged, not per request
  }
  record->peer = peer_;
  record->tls_version = host_->tls_version();
  record->protocol = record->tls_version.empty() ? "h2c" : "h2";
  record->delay = plan.delay + plan.first_byte_delay + plan.proxy_hold;
  record->route = plan.route != nullptr ? std::string_view(plan.route->prefix) : "";
  record->fault = plan.fault.rule != nullptr ? std::string_view(plan.fault.rule->name) : "";
  entry.access = record;
}

void Http2Session::AnswerNow(Http2Stream& stream, int status) {
  stream.timer.Cancel();
  PendingResponse& entry = stream.response;
  entry = PendingResponse{};
  entry.started = now();
  entry.deadline = now();
  entry.status = status;
  entry.body = ErrorBody(status);
  entry.content_type = "text/plain";
  stream.phase = Http2Stream::Phase::kDecided;
  stream.request_ended = true;  // answered without waiting for the rest of the request
  MaybeRespond(stream);
}

void Http2Session::MaybeRespond(Http2Stream& stream) {
  if (stream.phase != Http2Stream::Phase::kDecided || !stream.request_ended) {
    return;
  }
  if (now() < stream.response.deadline) {
    stream.timer.ArmAt(stream.response.deadline);
    return;
  }
  switch (stream.response.abort) {
    case AbortKind::kReset:
      SubmitReset(stream, NGHTTP2_INTERNAL_ERROR);
      return;
    case AbortKind::kClose:
      SubmitReset(stream, NGHTTP2_CANCEL);
      return;
    case AbortKind::kSilent:
      // No answer: the stream stays open until the client gives up on it.
      stream.phase = Http2Stream::Phase::kDone;
      ledger_.Complete(stream.response, 0, now());
      return;
    case AbortKind::kNone:
    case AbortKind::kStatus:
    case AbortKind::kCut:
      break;
  }
  SubmitResponse(stream);
}

void Http2Session::SubmitGrpcStatus(Http2Stream& stream) {
  // A trailers-only response (gRPC's PROTOCOL-HTTP2.md): one HEADERS frame that ends the
  // stream, HTTP 200, the call's status in grpc-status; what a gRPC server's error looks like.
  PendingResponse& response = stream.response;
  response.status = 200;  // what the ledger counts: the HTTP status the client saw
  size_t count = 0;
  auto& fields = stream.fields;
  fields[count++] = Http2Field(":status", "200");
  fields[count++] = Http2Field("content-type", "application/grpc");
  fields[count++] = Http2Field(
      "grpc-status", Http2Number(stream.status_text, static_cast<uint64_t>(response.grpc_status)));
  if (!response.grpc_message.empty()) {
    PercentEncodeGrpcMessage(response.grpc_message, &stream.grpc_message);
    fields[count++] = Http2Field("grpc-message", stream.grpc_message);
  }
  if (!response.fault_tag.empty()) {
    fields[count++] = Http2Field("x-proxynode-fault", response.fault_tag);
  }
  stream.phase = Http2Stream::Phase::kAnswered;
  if (nghttp2_submit_response(session_, stream.id, fields.data(), count, nullptr) != 0) {
    stream.phase = Http2Stream::Phase::kDone;
    ledger_.Release(response);
  }
}

void Http2Session::SubmitResponse(Http2Stream& stream) {
  PendingResponse& response = stream.response;
  if (response.grpc_status >= 0 && stream.request.grpc()) {
    SubmitGrpcStatus(stream);
    return;
  }
  const std::string_view body = Bodiless(response.status) ? "" : response.body_text();
  size_t count = 0;
  auto& fields = stream.fields;
  fields[count++] = Http2Field(
      ":status", Http2Number(stream.status_text, static_cast<uint64_t>(response.status)));
  std::string_view date = context_->date.Get(WallClockSeconds());  // "Date: ...\r\n"
  date.remove_prefix(sizeof("Date: ") - 1);
  date.remove_suffix(2);
  fields[count++] = Http2Field("date", date);
  if (!Bodiless(response.status)) {
    fields[count++] = Http2Field("content-length", Http2Number(stream.length_text, body.size()));
    if (!response.content_type.empty()) {
      fields[count++] = Http2Field("content-type", response.content_type);
    }
  }
  if (response.retry_after_seconds != 0) {
    fields[count++] =
        Http2Field("retry-after", Http2Number(stream.retry_text, response.retry_after_seconds));
  }
  if (!response.fault_tag.empty()) {
    fields[count++] = Http2Field("x-proxynode-fault", response.fault_tag);
  }
  if (response.extra_fields != nullptr) {
    std::string& names = stream.lowered_names;
    names.clear();
    for (const auto& [name, value] : *response.extra_fields) {
      names.append(name);
    }
    absl::AsciiStrToLower(&names);  // no reallocation from here on: views stay valid
    size_t offset = 0;
    for (const auto& [name, value] : *response.extra_fields) {
      if (count == fields.size()) {
        break;
      }
      fields[count++] = Http2Field(std::string_view(names).substr(offset, name.size()), value);
      offset += name.size();
    }
  }
  const bool has_body = !body.empty() && !response.head_only;
  nghttp2_data_provider provider{};
  provider.source.ptr = &stream;
  provider.read_callback = ReadResponseBody;
  stream.body_at = now() + response.first_byte_delay;
  stream.phase = Http2Stream::Phase::kAnswered;
  if (has_body) {
    StartPacing(stream);
  }
  if (nghttp2_submit_response(session_, stream.id, fields.data(), count,
                              has_body ? &provider : nullptr) != 0) {
    stream.phase = Http2Stream::Phase::kDone;
    ledger_.Release(response);  // the stream is gone already
  }
}

void Http2Session::SubmitReset(Http2Stream& stream, uint32_t error_code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, error_code);
  stream.phase = Http2Stream::Phase::kDone;
  ledger_.Complete(stream.response, 0, now());
}

void Http2Session::OnStreamTimer(Http2Stream& stream) {
  if (closed()) {
    return;
  }
  context_->loop.UpdateNow();
  if (stream.proxied && stream.phase == Http2Stream::Phase::kDecided) {
    ApplyCall(stream);  // a fault's hold on the upstream's head ended
  } else if (stream.phase == Http2Stream::Phase::kDecided) {
    MaybeRespond(stream);
  } else if (stream.phase == Http2Stream::Phase::kAnswered) {
    nghttp2_session_resume_data(session_, stream.id);  // its first-byte delay passed
  }
  Flush();
  if (!closed()) {
    Settle();
  }
}

void Http2Session::CountRejection(int status) {
  switch (status) {
    case 431:
      context_->stats.rejected.header_too_large.Add();
      break;
    default:
      context_->stats.rejected.bad_request.Add();
      break;
  }
}

}  // namespace proxynode
