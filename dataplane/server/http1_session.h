#pragma once

// HTTP/1.x over one client connection (session.h): parses requests, decides each one apart
// from the socket (response_decision.h), holds each response until its delay has passed,
// writes responses in request order (pipelining) with keep-alive, and serves proxied
// requests through a ProxyExchange whose response streams into the output once it reaches
// the front of the queue. While an exchange is in progress no further request is parsed
// (pipelined ones wait in the input buffer), so it is always the last queued.
//
// Reading and writing are two small state machines whose transitions are checked:
//
//   read:  kBetween -> kHead -> kBody <-> kBodyHeld -> kBetween (or kStopped after the final
//          request); kBetween <-> kPaused (pipeline full, or an exchange in progress);
//          any -> kStopped (an error answered with close, or a close response went out)
//   write: kOpen -> kClosing (a close response is queued for the socket) -> kLingering
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
#include "dataplane/proxy/proxy_exchange.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/response_queue.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"

namespace proxynode {

class Http1Session final : public Session, public ProxyExchange::Client {
 public:
  // Most requests parsed ahead of their responses before reading stops.
  static constexpr size_t kMaxPipelineDepth = 128;
  // Serialized responses buffered before the rest wait in the queue.
  static constexpr size_t kMaxBufferedOutput = 256 * 1024;
  // Input buffered beyond a request head before parsing catches up (bodies stream through).
  static constexpr size_t kMaxBufferedInput = 64 * 1024;

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

  void OnProxyProgress() override;

 private:
  enum class ReadState : uint8_t { kBetween, kPaused, kHead, kBody, kBodyHeld, kStopped };
  enum class WriteState : uint8_t { kOpen, kClosing, kLingering };
  enum class ProxyStep : uint8_t { kWaiting, kAnswered, kFailed, kAborted };

  void SetRead(ReadState next);
  void SetWrite(WriteState next);
  bool in_body() const { return read_ == ReadState::kBody || read_ == ReadState::kBodyHeld; }
  // The body of the current request is always read; a new request only when allowed.
  bool WantsInput() const {
    return in_body() || read_ == ReadState::kBetween || read_ == ReadState::kHead;
  }
  bool CanRead() const;
  // No request after the current one is read.
  void StopReading();

  void ReadInput();
  void ProcessInput();
  // `head_block`: the request's head as received (for forwarding).
  void OnRequestHead(std::string_view head_block);
  void StartProxy(const RequestHead& head, std::string_view head_block, const ResponsePlan& plan,
                  RouteState& route_state);
  // Lends the output to the proxied exchange at the front of the queue (which pushes its
  // response into it) and reports how far it got.
  ProxyStep StreamProxy(bool close);
  // Ends the exchange (giving its upstream connection back) and defers its recycling.
  void DropProxy();
  void OnMessageComplete();
  void OnParseError(ParseError error);
  void EnqueueImmediate(int status, bool close, uint32_t retry_after);
  // Writes every response that is due, in order, then arms the delay timer for the next.
  void FlushDueResponses();
  void SerializeDueResponses();
  bool HasDueResponse() const;
  void WriteOutput();
  void OnDelayTimer();
  void OnTimeoutTimer();
  void ScheduleTimeout(MonoTime deadline);
  // After progress: go idle when nothing is owed, else make sure a deadline covers the wait.
  void Settle();
  // Forgets a request that cannot complete (error, timeout or EOF mid-request), with the
  // response slot its head had queued.
  void AbandonCurrentRequest();
  bool closed() const { return host_->closed(); }
  MonoTime now() const { return context_->loop.now(); }

  WorkerContext* context_ = nullptr;
  SessionHost* host_ = nullptr;
  Buffer in_;
  Buffer out_;
  HttpRequestParser parser_;
  ResponseQueue queue_{nullptr, nullptr};
  MonoTime head_started_at_ = 0;
  // When the bytes of the last read reached this host (transport arrival stamps): a request
  // parsed from them starts its delay then.
  MonoTime arrived_at_ = 0;
  Timer delay_timer_;
  Timer timeout_timer_;
  std::unique_ptr<ProxyExchange> proxy_;
  ReadState read_ = ReadState::kBetween;
  WriteState write_ = WriteState::kOpen;
  // The request being read is the connection's last (it asked to close, or hit a limit).
  bool final_request_ = false;
};

}  // namespace proxynode
