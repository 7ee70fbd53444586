#pragma once

// One proxied request: waits out the route's injected delay, picks an upstream, borrows a
// pooled connection (or connects, non-blocking), streams the request head and body to it,
// parses the response and streams it to the client connection's output as the client
// drains it. Both directions are bounded: the client's body is accepted only while little
// of it is unsent (CanAcceptBody), and the upstream is read only while the client's output
// has room, so a slow side stalls the other through TCP instead of filling memory.
//
// Failures before any response byte reached the client become a 502 (broken or
// unreachable) or 504 (timeout) response; after that the client connection is cut, the only
// honest signal left. A request without a body is retried once more elsewhere when the
// connect failed or a reused keep-alive connection turned out closed.
//
// Exchanges are reused (ProxyExchangePool): Start() begins one, Recycle() clears it for the
// next while keeping its string capacity, so a proxied request allocates nothing.
//
// Thread contract: lent to one client Connection at a time; loop thread only. The client
// calls in; the exchange calls the client back (Client::OnProxyProgress) only from its own
// events, never from inside a call the client made.

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
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/upstream_connection.h"
#include "dataplane/proxy/upstream_pools.h"

namespace proxynode {

class ProxyExchange final : public UpstreamConnection::User {
 public:
  class Client {
   public:
    virtual ~Client() = default;
    // Response bytes, a failure, or room for more request body: look again.
    virtual void OnProxyProgress() = 0;
  };

  enum class PumpResult : uint8_t {
    kWaiting,  // more will come; the exchange calls OnProxyProgress
    kDone,     // the whole response is in the output
    kFailed,   // nothing was sent to the client: answer error_status() instead
    kAborted,  // the response broke after its head went out: close the client connection
  };

  // What the client side contributes to the response head.
  struct ClientSide {
    bool http10 = false;
    bool head_only = false;  // a HEAD request: no body is sent
    bool close = false;      // the response must say Connection: close
  };

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

  // Response side: moves what is available into `out` while it holds under `limit` bytes.
  PumpResult Pump(Buffer& out, BufferPool& pool, size_t limit, const ClientSide& client);
  int error_status() const { return current_.error_status; }
  // Some of the response reached the client's output: nothing else may be written there.
  bool head_forwarded() const { return current_.head_forwarded; }
  // The response's framing needs the connection closed after it (close-delimited body to
  // an HTTP/1.0 client), or the client side asked for it.
  bool closes_connection() const { return current_.close_after; }
  int response_status() const { return current_.response_status; }

  // The client connection is closing: give the upstream connection back (closed) now.
  void Abandon();

  void OnUpstreamEvent() override;

 private:
  enum class State : uint8_t { kDelaying, kConnecting, kExchanging, kDone, kFailed, kAborted };
  enum class Failure : uint8_t {
    kConnectFailed,
    kConnectTimeout,
    kFirstByteTimeout,
    kTotalTimeout,
    kBroken
  };

  void Begin();
  void Connect(const UpstreamPool* avoid, bool fresh);
  void OnConnected();
  // Sends buffered request bytes; false when the connection broke (already handled).
  bool SendRequest();
  // Reads response bytes (bounded); false when the connection broke (already handled).
  bool ReceiveResponse();
  void OnUpstreamBroken(bool connect_failed);
  bool CanRetry(bool connect_failed) const;
  void Retry(bool connect_failed);
  void Fail(Failure failure);
  void Finish(bool reusable);
  void ReleaseUpstream(bool reusable);
  void OnTimer();
  void ArmTimer();
  void AppendChunked(std::string_view data);
  MonoTime now() const { return context_.loop.now(); }
  // Done, failed or aborted: the answer is decided.
  bool ended() const {
    return current_.state == State::kDone || current_.state == State::kFailed ||
           current_.state == State::kAborted;
  }

  ProxyContext& context_;
  UpstreamPools& pools_;
  SnapshotRef snapshot_;       // pinned by Start(): `current_.route` lives in it
  std::string upstream_head_;  // kept for a retry of a bodiless request
  Buffer request_out_;         // request bytes not yet sent upstream
  HttpResponseParser parser_;
  Timer timer_;
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
    MonoTime connect_deadline = 0;
    MonoTime first_byte_deadline = 0;
    MonoTime total_deadline = 0;
    int attempts = 0;
    int error_status = 0;
    int response_status = 0;
    bool has_body = false;
    bool chunked_upstream = false;  // the request body goes upstream chunked
    bool head_request = false;
    bool idempotent = false;  // a resend after a stale connection is harmless
    bool reused = false;      // the current upstream connection came from the pool
    bool request_complete = false;
    bool request_sent = false;
    bool send_failed = false;  // the upstream stopped reading; its answer may still come
    bool got_first_byte = false;
    bool head_forwarded = false;
    bool chunked_to_client = false;
    bool close_after = false;
  };
  PerRequest current_;
  std::string scratch_;  // reused for heads and chunk framing
};

}  // namespace proxynode
