#pragma once

// HTTP/2 over one client connection (session.h), on libnghttp2, which does the framing,
// HPACK, flow control, SETTINGS and PING, and checks the protocol (RFC 9113). Each request
// stream goes through the same admission, decision and fault engine as an HTTP/1.1 request
// (response_decision.h), and its response leaves after its delay, on a timer of the loop.
//
// How a connection gets here: with prior knowledge (the client preface "PRI * HTTP/2.0..."
// where an HTTP/1.1 request would start), or from an HTTP/1.1 request asking
// "Upgrade: h2c" (RFC 7540 3.2): that request becomes stream 1. The HTTP/1 session that
// saw either hands the connection over (SessionHost::SwitchToHttp2).
//
// Unlike an HTTP/1 session this one stays with its connection until it closes: HPACK's
// tables and the stream states live as long as the connection does. Its own timer closes it
// after idle_timeout without streams (GOAWAY first). Drain and worker retirement send
// GOAWAY with the last stream taken, finish those, then close: a client retries the rest on
// a new connection, so no request fails.
//
// A stream on a route whose upstreams speak HTTP/2 (h2c) is forwarded as a stream of its
// own (Http2ProxyCall, http2_proxied_streams.cc): bodies and trailers both ways, as they
// come, paced by both sides' flow control. The session opens its receive windows by hand
// (nghttp2_session_consume): at once for the node's own streams, as the upstream takes the
// bytes for proxied ones.
//
// Limits (counted in the worker's rejected stats): concurrent streams (SETTINGS), header
// list size (431), body size (413), and streams the client resets, per second (the
// rapid-reset attack, CVE-2023-44487): past kMaxResetsPerSecond the connection ends with
// GOAWAY ENHANCE_YOUR_CALM.
//
// Thread contract: one worker's loop thread.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/buffer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http2/h2c_upgrade.h"
#include "dataplane/proxy/http2_proxy_call.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/http2_stream.h"
#include "dataplane/server/response_ledger.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"

namespace proxynode {

class Http2Session final : public Session, public Http2ProxyCall::Client {
 public:
  // SETTINGS_MAX_CONCURRENT_STREAMS the node announces.
  static constexpr uint32_t kMaxConcurrentStreams = 128;
  // Streams the client may reset in one second before the connection ends.
  static constexpr uint32_t kMaxResetsPerSecond = 200;
  // Serialized frames buffered before the session stops producing more.
  static constexpr size_t kMaxBufferedOutput = 256 * 1024;
  // Input taken from the socket at a time.
  static constexpr size_t kReadChunk = 64 * 1024;
  // The connection-level receive window (SETTINGS leave it at 64 KiB).
  static constexpr int32_t kConnectionWindow = 1 << 20;

  explicit Http2Session(TimerQueue& timers);
  ~Http2Session() override;
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Lends the session to `host`'s connection in the worker `context` (both null: unbound).
  void Bind(WorkerContext* context, SessionHost* host);
  // Starts HTTP/2: `input` holds what was read past the HTTP/1 part (the client preface
  // first); `upgrade` is the request that asked for h2c, or null with prior knowledge.
  // Returns false when the upgrade's settings are invalid (the connection is closed).
  bool Start(std::string_view input, const Http2Upgrade* upgrade);

  void Progress(bool writable_again) override;
  void Reject(int status, uint32_t retry_after_seconds) override;
  void OnConfigChanged() override;
  void ArmLingerTimeout(MonoTime deadline) override;
  void BeginDrain() override;
  void Abandon() override;
  void Clear() override;
  SessionPhase phase() const override;
  SessionProtocol protocol() const override { return SessionProtocol::kHttp2; }

  size_t open_streams() const { return active_.size(); }

  // nghttp2's callbacks (http2_callbacks.cc) reach the session through these.
  int OnBeginHeaders(int32_t stream_id);
  int OnHeader(Http2Stream& stream, std::string_view name, std::string_view value);
  // A field of the request's trailers.
  int OnTrailer(Http2Stream& stream, std::string_view name, std::string_view value);
  int OnFrameReceived(const nghttp2_frame& frame);
  int OnData(int32_t stream_id, std::string_view data);
  int OnFrameSent(const nghttp2_frame& frame);
  int OnStreamClose(int32_t stream_id);
  ssize_t ReadBody(Http2Stream& stream, uint8_t* buffer, size_t length, uint32_t* flags);

  // Http2ProxyCall::Client
  void OnCallProgress(Http2ProxyCall& call) override;

 private:
  void ReadAndProcess();
  // Serializes what nghttp2 has to send and writes it, until the socket is full.
  void Flush();
  // After progress: close when the connection is over, else keep its timer armed.
  void Settle();
  void OnTimeoutTimer();
  void OnStreamTimer(Http2Stream& stream);
  // The request's fields are in: decide its response.
  void OnRequestHeaders(Http2Stream& stream);
  void AnswerNow(Http2Stream& stream, int status);
  // The response is due (request read, delay passed): hand it, or its fault, to nghttp2.
  void MaybeRespond(Http2Stream& stream);
  void SubmitResponse(Http2Stream& stream);
  // A status abort's gRPC answer to a gRPC call: grpc-status in a trailers-only response.
  void SubmitGrpcStatus(Http2Stream& stream);
  void SubmitReset(Http2Stream& stream, uint32_t error_code);
  // A fault's bandwidth (scope response, connection or rule) from this response on.
  void StartPacing(Http2Stream& stream);
  // How much of `length` body bytes may leave now under the pacing that applies; 0: none
  // yet, and the stream's timer is armed for when some may.
  size_t PacedLength(Http2Stream& stream, size_t length);
  void SpendPaced(Http2Stream& stream, size_t bytes);
  // Proxied streams (http2_proxied_streams.cc). Forwards the stream upstream (`plan` says
  // where).
  void StartCall(Http2Stream& stream, const ResponsePlan& plan, RouteState& route_state);
  // Acts on the call's state: its head, body and trailers, its failure, window updates.
  void ApplyCall(Http2Stream& stream);
  void SubmitProxiedHead(Http2Stream& stream);
  ssize_t ReadProxiedBody(Http2Stream& stream, uint8_t* buffer, size_t length, uint32_t* flags);
  void RecordAccess(Http2Stream& stream, const ResponsePlan& plan);
  // Ends the connection after what is owed: GOAWAY with the last stream taken.
  void Goaway(uint32_t error_code);
  Http2Stream* AcquireStream(int32_t stream_id);
  void ReleaseStream(Http2Stream* stream);
  void CountRejection(int status);
  // Streams reset by the client: true once past the rapid-reset cap.
  bool CountClientReset();
  bool closed() const { return host_->closed(); }
  MonoTime now() const { return context_->loop.now(); }

  WorkerContext* context_ = nullptr;
  SessionHost* host_ = nullptr;
  nghttp2_session* session_ = nullptr;
  ResponseLedger ledger_;
  Buffer in_;
  Buffer out_;
  Timer timeout_timer_;
  // When the bytes being processed reached this host (0: not known).
  MonoTime arrived_at_ = 0;
  SocketAddress peer_;
  std::vector<Http2Stream*> active_;  // capacity kept: at most kMaxConcurrentStreams
  std::vector<std::unique_ptr<Http2Stream>> free_streams_;
  // A fault's bandwidth with scope connection: every stream's body, for the rest of the
  // connection.
  BytePacer connection_pacer_;
  MonoTime reset_window_start_ = 0;
  uint32_t resets_in_window_ = 0;
  bool goaway_sent_ = false;
  bool lingering_ = false;
};

}  // namespace proxynode
