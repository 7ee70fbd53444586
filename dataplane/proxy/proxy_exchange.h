#pragma once

// One proxied request: waits out the route's injected delay, picks an upstream, borrows a
// pooled connection (or connects, non-blocking), streams the request head and body to it,
// parses the response and pushes it into the client's output. Both directions are bounded
// by watermarks: the client's body is accepted only while little of it is unsent
// (CanAcceptBody; the exchange says when the upstream took it), and the upstream is read
// only while the client's output is under kHighWatermark; the client says only when it
// drained below kLowWatermark. A slow side stalls the other through TCP instead of filling
// memory.
//
// The response may reach the client only when it is at the front of the client's queue:
// the client then lends its output (StreamInto), and from there on the exchange writes the
// response into it from its own upstream events.
//
// Failures before any response byte reached the client become a 502 (broken or
// unreachable) or 504 (timeout) response; after that the client connection is cut, the only
// honest signal left. A request without a body is retried once more elsewhere when the
// connect failed or a reused keep-alive connection turned out closed.
//
// Exchanges are reused (ProxyExchangePool): Start() begins one, Recycle() clears it for the
// next while keeping its string capacity, so a proxied request allocates nothing.
//
// Thread contract: lent to one client session at a time; loop thread only. The client
// calls in; the exchange calls the client back (Client::OnProxyProgress) only from its own
// events (upstream readiness, timers), never from inside a call the client made.

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/http/http_response_parser.h"
#include "dataplane/http/proxy_headers.h"
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/proxy_failure.h"
#include "dataplane/proxy/request_forwarder.h"
#include "dataplane/proxy/response_forwarder.h"
#include "dataplane/proxy/upstream_connection.h"
#include "dataplane/proxy/upstream_pools.h"

namespace proxynode {

class ProxyExchange final : public UpstreamConnection::User {
 public:
  class Client {
   public:
    virtual ~Client() = default;
    // Response bytes were written to the lent output, the exchange ended, or the upstream
    // took the request body held back: look again.
    virtual void OnProxyProgress() = 0;
  };

  enum class Outcome : uint8_t {
    kPending,  // more will come; the exchange calls OnProxyProgress
    kDone,     // the whole response is in the output
    kFailed,   // nothing was sent to the client: answer error_status() instead
    kAborted,  // the response broke after its head went out: close the client connection
  };

  // The client's output is not filled past this (bytes pushed but not yet written).
  static constexpr size_t kHighWatermark = 64 * 1024;
  // Below this the client reports the output drained (OnOutputDrained).
  static constexpr size_t kLowWatermark = 16 * 1024;

  explicit ProxyExchange(ProxyContext& context);
  ~ProxyExchange() override;
  ProxyExchange(const ProxyExchange&) = delete;
  ProxyExchange& operator=(const ProxyExchange&) = delete;

  // Begins proxying one request; the exchange must be new or recycled. `route` lives in
  // `snapshot`, which the exchange keeps pinned until it is recycled.
  void Start(Client& client, SnapshotRef snapshot, const RouteConfig& route,
             RouteState& route_state, const RequestHead& head, std::string_view head_block,
             std::string_view client_ip, Nanos delay);
  // After the exchange ended (done, failed or abandoned) and nothing of it is on the stack:
  // unpins the snapshot and clears every per-request field for the next Start().
  void Recycle();

  // Request side (the client connection feeds the body as it parses it).
  bool CanAcceptBody() const;
  void OnRequestBody(std::string_view data);
  void OnRequestComplete();

  // Response side. The response's turn came: from now on its bytes go into `out` (which
  // must outlive the exchange's use of it: until it ends or is abandoned). Forwards what is
  // already buffered at once. Called again, it only updates `client` (a response head not
  // yet forwarded may still learn to say close).
  void StreamInto(Buffer& out, const ClientSide& client);
  // The client wrote its output below kLowWatermark: the exchange goes on from its own event.
  void OnOutputDrained();
  Outcome outcome() const;
  int error_status() const { return current_.error_status; }
  // Why the TLS handshake with the upstream failed (a static string), null when it did not:
  // said in the error response.
  const char* tls_failure() const { return current_.tls_failure; }
  // Some of the response reached the client's output: nothing else may be written there.
  bool head_forwarded() const { return forwarder_.head_forwarded(); }
  size_t response_head_bytes() const { return forwarder_.head_bytes(); }
  // The response's framing needs the connection closed after it (close-delimited body to
  // an HTTP/1.0 client), or the client side asked for it.
  bool closes_connection() const { return forwarder_.closes_connection(); }
  int response_status() const { return forwarder_.status(); }
  // For the access log: the upstream that answered ("" before one was chosen), and the time
  // from forwarding the request to the response's last byte (-1 until it is done).
  std::string_view upstream_address() const;
  Nanos upstream_time() const { return current_.upstream_time; }

  // The client connection is closing: give the upstream connection back (closed) now.
  void Abandon();
  // The client went away (its FIN or reset) while waiting: unless the response has begun
  // to reach it or the exchange ended, abandons the upstream request (its connection closed,
  // never pooled) and counts it as cancelled, neither an error nor a timeout. True when it
  // did.
  bool Cancel();

  void OnUpstreamEvent() override;

 private:
  enum class State : uint8_t { kDelaying, kConnecting, kExchanging, kDone, kFailed, kAborted };
  void Begin();
  void Connect(const UpstreamPool* avoid, bool fresh);
  void OnConnected();
  // Sends buffered request bytes (a send error leaves the response to decide).
  void SendRequest();
  // Reads response bytes (bounded); false when the connection broke (already handled).
  bool ReceiveResponse();
  void OnUpstreamBroken(bool connect_failed);
  bool CanRetry(bool connect_failed) const;
  void Retry(bool connect_failed);
  void Fail(ProxyFailure failure);
  void Finish(bool reusable);
  void ReleaseUpstream(bool reusable);
  // Moves buffered upstream bytes into the lent output and reads more, up to the high
  // watermark.
  void Forward();
  void OnTimer();
  void ArmTimer();
  MonoTime now() const { return context_.loop.now(); }
  // Done, failed or aborted: the answer is decided.
  bool ended() const {
    return current_.state == State::kDone || current_.state == State::kFailed ||
           current_.state == State::kAborted;
  }

  ProxyContext& context_;
  UpstreamPools& pools_;
  SnapshotRef snapshot_;  // pinned by Start(): `current_.route` lives in it
  RequestForwarder request_;
  ResponseForwarder forwarder_;
  Timer timer_;
  Timer resume_timer_;  // the client drained its output: forward more from the loop
  // Everything about the request being proxied that Start() sets and Recycle() resets (as a
  // whole, so a field added here cannot outlive its request).
  struct PerRequest {
    Client* client = nullptr;
    const RouteConfig* route = nullptr;
    RouteState* route_state = nullptr;
    UpstreamPool* pool = nullptr;
    UpstreamConnection* upstream = nullptr;
    State state = State::kDelaying;
    MonoTime start_at = 0;
    MonoTime began_at = 0;
    Nanos upstream_time = -1;
    const std::string* upstream_address = nullptr;  // the last one picked, in the pinned snapshot
    MonoTime connect_deadline = 0;
    MonoTime first_byte_deadline = 0;
    MonoTime total_deadline = 0;
    int attempts = 0;
    int error_status = 0;
    const char* tls_failure = nullptr;
    bool head_request = false;
    bool idempotent = false;  // a resend after a stale connection is harmless
    bool reused = false;      // the current upstream connection came from the pool
    bool request_sent = false;
    bool got_first_byte = false;
    bool waiting_for_drain = false;  // stopped at the high watermark
  };
  PerRequest current_;
};

}  // namespace proxynode
