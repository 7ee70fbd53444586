#pragma once

// HTTP/1.x over one client connection (session.h): reads requests (http1_request_reader.h),
// decides each one apart from the socket (response_decision.h), holds each response until
// its delay has passed, and writes responses in request order (http1_response_writer.h),
// pipelined, with keep-alive. A proxied request is served by a ProxyExchange whose response
// streams into the output once it reaches the front of the queue; while one is in progress
// no further request is parsed (pipelined ones wait in the input buffer), so it is always
// the last queued.
//
// Pooled (session_pool.h): lent to a connection from its first byte until it is idle again,
// keeping its buffers' pool blocks only while they hold bytes and its queue's capacity
// across requests, so a keep-alive request allocates nothing.
//
// Thread contract: one worker's loop thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/http2/h2c_upgrade.h"
#include "dataplane/proxy/proxy_exchange.h"
#include "dataplane/server/http1_request_reader.h"
#include "dataplane/server/http1_response_writer.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/response_queue.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"

namespace proxynode {

class Http1Session final : public Session, public ProxyExchange::Client {
 public:
  // Most requests parsed ahead of their responses before reading stops.
  static constexpr size_t kMaxPipelineDepth = 128;

  explicit Http1Session(TimerQueue& timers);
  ~Http1Session() override;
  Http1Session(const Http1Session&) = delete;
  Http1Session& operator=(const Http1Session&) = delete;

  // Lends the session to `host`'s connection in the worker `context` (both null: unbound).
  void Bind(WorkerContext* context, SessionHost* host);

  void Progress(bool writable_again) override;
  void Reject(int status, uint32_t retry_after_seconds) override;
  void OnConfigChanged() override;
  void ArmLingerTimeout(MonoTime deadline) override;
  void Abandon() override;
  void Clear() override;
  SessionPhase phase() const override;
  SessionProtocol protocol() const override { return SessionProtocol::kHttp1; }

  void OnProxyProgress() override;

 private:
  // What the reader may do now: a proxied exchange is served alone, and takes the body only
  // as fast as its upstream.
  Http1RequestReader::Allowance Allowance() const {
    return {.new_request = queue_.depth() < kMaxPipelineDepth && proxy_ == nullptr,
            .body = proxy_ == nullptr || proxy_->CanAcceptBody()};
  }
  void ProcessInput();
  // The client speaks HTTP/2 where its next request would start (the client preface): true
  // when it does (Progress hands the connection over), or may once more bytes come.
  bool AwaitsOrStartsHttp2();
  // Hands the connection to an HTTP/2 session (SessionHost::SwitchToHttp2); this session is
  // given back to the pool.
  void SwitchToHttp2();
  // `head_block`: the request's head as received (for forwarding).
  void OnRequestHead(std::string_view head_block);
  // Starts the access-log record of the request just queued, when it is in the sample.
  void RecordAccess(PendingResponse& entry, const RequestHead& head, std::string_view head_block,
                    const ResponsePlan& plan);
  void StartProxy(const RequestHead& head, std::string_view head_block, const ResponsePlan& plan,
                  RouteState& route_state);
  void OnMessageComplete();
  void OnParseError(ParseError error);
  void EnqueueImmediate(int status, bool close, uint32_t retry_after);
  void OnDelayTimer();
  void OnTimeoutTimer();
  void OnPaceTimer();
  void ScheduleTimeout(MonoTime deadline);
  // After progress: go idle when nothing is owed, else make sure a deadline covers the wait.
  void Settle();
  // The client closed (FIN or reset) while its proxied request waits on the upstream: the
  // upstream request is cancelled and the connection closed, as nginx and Envoy do. True
  // when it did (the connection is closed).
  bool CancelProxyForGoneClient();
  // Forgets a request that cannot complete (error, timeout or EOF mid-request), with the
  // response slot its head had queued.
  void AbandonCurrentRequest();
  bool closed() const { return host_->closed(); }
  MonoTime now() const { return context_->loop.now(); }

  WorkerContext* context_ = nullptr;
  SessionHost* host_ = nullptr;
  // The client's address, looked up at the connection's first logged request.
  SocketAddress peer_;
  Http1RequestReader reader_;
  ResponseQueue queue_;
  std::unique_ptr<ProxyExchange> proxy_;
  Timer delay_timer_;
  Timer timeout_timer_;
  Timer pace_timer_;  // a throttled response's next bytes may leave
  // Set when the client asked for HTTP/2 (kUpgrade: with upgrade_'s request).
  enum class Http2Start : uint8_t { kNone, kPreface, kUpgrade };
  Http2Start http2_start_ = Http2Start::kNone;
  Http2Upgrade upgrade_;
  Http1ResponseWriter writer_{queue_, proxy_, reader_, delay_timer_, pace_timer_};
};

}  // namespace proxynode
