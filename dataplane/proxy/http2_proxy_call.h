#pragma once

// One HTTP/2 request forwarded as a stream to an HTTP/2 upstream (a route with
// upstream_protocol h2c): a gRPC call, typically. It waits out the route's delay, picks an
// upstream, opens a stream on a pooled session to it (http2_upstream_session.h), and carries
// both directions as they come: the request body and trailers up, the response head, body
// and trailers down. A streaming RPC streams: nothing waits for a whole message.
//
// Both bodies are held only as far as HTTP/2 flow control lets the sender go: response data
// is taken out of the upstream's window when the client side read it (ReadResponseBody),
// request data out of the client's window when the upstream took it
// (TakeRequestBytesSent). A slow side slows the other.
//
// Failures before the response head reached the client become a 502 (broken, refused or
// unreachable) or 504 (timeout) for the client side to answer; after it, the client's
// stream is reset (kAborted). A call that failed to connect, or that the upstream refused
// unprocessed (REFUSED_STREAM, or a GOAWAY below its id), is tried again elsewhere when none
// of its body has left.
//
// Calls are pooled with their client-side stream: Start() begins one, Recycle() clears it,
// keeping the capacity of its fields and buffers.
//
// Thread contract: loop thread only. The call reports to its client only from its own
// events (its timer, the upstream session), never from inside a method the client called;
// the client looks at state() after each of its own calls.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http2/field_list.h"
#include "dataplane/http2/http2_request.h"
#include "dataplane/proxy/http2_upstream_session.h"
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/proxy_failure.h"
#include "dataplane/proxy/upstream_pools.h"

namespace proxynode {

class Http2ProxyCall final : public Http2UpstreamSession::Stream {
 public:
  class Client {
   public:
    virtual ~Client() = default;
    // The call's state changed: a head, data, trailers, the end, a failure, or request
    // bytes taken by the upstream.
    virtual void OnCallProgress(Http2ProxyCall& call) = 0;
  };

  enum class State : uint8_t {
    kIdle,       // not started, or recycled
    kDelaying,   // the route's delay runs
    kWaiting,    // the stream is open (or its connection is being made); no head yet
    kStreaming,  // the response head is in; data and trailers follow
    kEnded,      // the upstream ended the response; the client side drains what is held
    kFailed,     // nothing reached the client side: answer error_status()
    kAborted,    // broke after the head: reset the client's stream (reset_code())
  };

  // Response head fields the call takes at most (bytes of names and values).
  static constexpr size_t kMaxResponseHeadBytes = 64 * 1024;

  explicit Http2ProxyCall(ProxyContext& context);
  ~Http2ProxyCall() override;
  Http2ProxyCall(const Http2ProxyCall&) = delete;
  Http2ProxyCall& operator=(const Http2ProxyCall&) = delete;

  // Begins forwarding `request` (which must stay valid until the call is recycled) after
  // `delay`. `request_ended`: the request came without a body. `client_stream`: the client
  // side's stream id, for the client to find its stream again.
  void Start(Client& client, SnapshotRef snapshot, const RouteConfig& route,
             RouteState& route_state, const Http2RequestBuilder& request,
             std::string_view client_ip, Nanos delay, bool request_ended, int32_t client_stream);
  void Recycle();

  // Request side, as the client's stream delivers it.
  void OnRequestData(std::string_view data);
  void OnRequestTrailer(std::string_view name, std::string_view value);
  void OnRequestEnd();
  // The client's stream is gone (reset, or its connection closed): the upstream stream is
  // reset, and the call counts as cancelled unless it had ended.
  void Cancel();

  State state() const { return state_; }
  bool started() const { return state_ != State::kIdle; }
  int error_status() const { return error_status_; }
  // Why the TLS handshake with the upstream failed (a static string), null when it did not.
  const char* tls_failure() const { return tls_failure_; }
  uint32_t reset_code() const { return reset_code_; }
  // The response head, once state() is kStreaming or later (after a head).
  bool has_head() const { return has_head_; }
  int response_status() const { return status_; }
  const FieldList& response_fields() const { return response_fields_; }
  // The head came with END_STREAM: nothing follows it.
  bool ended_at_head() const { return ended_at_head_; }
  // Response body for the client's stream, as nghttp2's data source read callback: DEFERRED
  // while nothing is held; EOF (and NO_END_STREAM when trailers follow) at the end.
  ssize_t ReadResponseBody(uint8_t* buffer, size_t length, uint32_t* flags);
  const FieldList& response_trailers() const { return response_trailers_; }
  // Request body bytes the upstream took since the last call: the client's window opens.
  size_t TakeRequestBytesSent();
  // The call will send no more (it failed, or its client's stream ends): drops the request
  // body it holds and returns what the client's window still owes (held and taken bytes).
  size_t DropRequestBody();
  std::string_view upstream_address() const;
  // Request forwarded to the response's end (-1 until it ended).
  Nanos upstream_time() const { return upstream_time_; }
  int32_t client_stream() const { return client_stream_; }

  // Http2UpstreamSession::Stream
  void OnUpstreamField(std::string_view name, std::string_view value) override;
  void OnUpstreamHeaders() override;
  void OnUpstreamData(std::string_view data) override;
  void OnUpstreamEnd() override;
  void OnUpstreamClosed(uint32_t error_code, UpstreamLoss loss) override;
  ssize_t ReadRequestBody(uint8_t* buffer, size_t length, uint32_t* flags) override;
  void OnUpstreamProgress() override;

 private:
  void Begin();
  // Picks an upstream (not `avoid` when there is another) and opens the stream.
  void Open(const UpstreamPool* avoid);
  bool CanRetry() const;
  // The stream (or its connection) ended before the response did: retry, 502/504, or reset.
  void HandleLoss();
  void Fail(ProxyFailure failure);
  // The call no longer counts as outstanding on its upstream.
  void ReleasePool();
  void Finish();
  // Lets go of the upstream stream (reset with `error_code` when it is still open).
  void DetachUpstream(uint32_t error_code);
  void OnTimer();
  void ArmTimer();
  void Notify();
  MonoTime now() const { return context_.loop.now(); }

  ProxyContext& context_;
  UpstreamPools& pools_;
  Timer timer_;
  SnapshotRef snapshot_;
  Client* client_ = nullptr;
  const RouteConfig* route_ = nullptr;
  RouteState* route_state_ = nullptr;
  const Http2RequestBuilder* request_ = nullptr;
  std::string_view client_ip_;
  UpstreamPool* pool_ = nullptr;
  Http2UpstreamSession* session_ = nullptr;
  const std::string* upstream_address_ = nullptr;
  int32_t stream_id_ = 0;  // upstream
  int32_t client_stream_ = 0;
  State state_ = State::kIdle;
  // Fields sent upstream: pointers into `request_` and the strings below, valid while one
  // submission copies them.
  std::vector<nghttp2_nv> request_nv_;
  std::string forwarded_for_;
  FieldList request_trailers_;
  std::vector<nghttp2_nv> trailer_nv_;
  Buffer request_body_;
  size_t request_bytes_sent_ = 0;    // not yet reported to the client
  uint64_t request_body_taken_ = 0;  // taken by the upstream, this attempt
  FieldList response_fields_;
  FieldList response_trailers_;
  Buffer response_body_;
  MonoTime start_at_ = 0;
  MonoTime began_at_ = 0;
  MonoTime first_byte_deadline_ = 0;
  MonoTime total_deadline_ = 0;
  Nanos upstream_time_ = -1;
  uint64_t response_bytes_ = 0;  // response body bytes received, this attempt
  int attempts_ = 0;
  int status_ = 0;
  int error_status_ = 0;
  uint32_t reset_code_ = NGHTTP2_INTERNAL_ERROR;
  uint32_t closed_error_ = 0;
  const char* tls_failure_ = nullptr;  // how the upstream stream closed (RST_STREAM's code)
  UpstreamLoss loss_ = UpstreamLoss::kNone;
  bool request_ended_ = false;
  bool body_deferred_ = false;  // nghttp2 waits for request data (ResumeBody)
  bool interim_ = false;        // the HEADERS being received are a 1xx
  bool has_head_ = false;
  bool head_too_large_ = false;
  bool ended_at_head_ = false;
  bool response_ended_ = false;
  bool upstream_closed_ = false;  // before the response ended: HandleLoss decides
  bool outstanding_ = false;      // counted in pool_'s outstanding
  bool in_client_call_ = false;   // inside a method the client called: no callbacks
  bool changed_ = false;          // something for the client since it last looked
};

}  // namespace proxynode
