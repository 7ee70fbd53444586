#pragma once

// One HTTP/2 request and the response the node owes it (http2_session.h). Pooled by its
// session: a stream object is taken when a request's HEADERS begin and given back when
// nghttp2 closes the stream, keeping its strings' capacity, so a keep-alive HTTP/2
// connection allocates none of its own per request once warm.
//
// Thread contract: one session's, loop thread only.

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/byte_pacer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http2/http2_request.h"
#include "dataplane/proxy/http2_proxy_call.h"
#include "dataplane/server/response_ledger.h"

namespace proxynode {

struct Http2Stream {
  // Header fields a response carries at most: :status, content-type, content-length, date,
  // retry-after, x-proxynode-fault, and a fault rule's or Allow's extra fields.
  static constexpr size_t kMaxResponseFields = 24;

  enum class Phase : uint8_t {
    kHeaders,   // the request's header fields are arriving
    kDecided,   // decided; the response waits for its delay or the request's end
    kAnswered,  // the response (or the fault in its place) was handed to nghttp2
    kDone,      // the response left or the stream ended without one; the ledger is settled
  };

  template <typename OnTimer>
  Http2Stream(TimerQueue& timers, OnTimer on_timer)
      : timer(timers, [this, on_timer] { on_timer(*this); }) {}
  Http2Stream(const Http2Stream&) = delete;
  Http2Stream& operator=(const Http2Stream&) = delete;

  // Ready for another request on stream `stream_id`.
  void Reset(int32_t stream_id) {
    id = stream_id;
    phase = Phase::kHeaders;
    request_ended = false;
    upload_refused = false;
    proxied = false;
    body_bytes = 0;
    body_sent = 0;
    body_at = 0;
    head_at = 0;
    response_bytes = 0;
    pacer = nullptr;
    timer.Cancel();
  }

  int32_t id = 0;
  Phase phase = Phase::kHeaders;
  bool request_ended = false;  // END_STREAM came from the client
  // Answered 413 while the body still came: once the answer is out, the rest is refused
  // (RST_STREAM NO_ERROR, RFC 9113 8.1).
  bool upload_refused = false;
  uint64_t body_bytes = 0;  // request body bytes received
  uint64_t body_sent = 0;   // response body bytes handed to nghttp2
  MonoTime body_at = 0;     // the body may leave from then (a first-byte delay)
  MonoTime head_at = 0;     // a proxied head may leave from then (a fault's response delay)
  uint64_t response_bytes = 0;
  // A fault's bandwidth on this response's body: `own_pacer`, the rule's shared one, or
  // null (the connection's pacer, when one runs, paces every stream: http2_session.h).
  BytePacer* pacer = nullptr;
  BytePacer own_pacer;
  // Forwarded upstream (a route with upstream_protocol h2c): `call` carries it, and the
  // response is the upstream's (http2_proxied_streams.cc).
  bool proxied = false;
  std::unique_ptr<Http2ProxyCall> call;    // made on first use, kept with the pooled stream
  std::vector<nghttp2_nv> proxied_fields;  // the upstream's head or trailers, as submitted
  Http2RequestBuilder request;
  PendingResponse response;
  // The response's delay, then its body's first-byte delay.
  Timer timer;
  // Field storage for the response head: nghttp2 copies it when the response is submitted.
  std::array<nghttp2_nv, kMaxResponseFields> fields{};
  std::array<char, 4> status_text{};
  std::array<char, 24> length_text{};
  std::array<char, 24> retry_text{};
  std::string lowered_names;  // extra fields' names in lowercase, as HTTP/2 requires
  std::string grpc_message;   // percent-encoded for the wire
};

}  // namespace proxynode
