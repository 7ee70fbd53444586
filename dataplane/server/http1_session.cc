#include "dataplane/server/http1_session.h"

#include <cassert>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/response_decision.h"

namespace proxynode {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

ParserLimits LimitsFrom(const ConfigSnapshot& config) {
  ParserLimits limits;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_body_bytes = config.max_body_bytes;
  return limits;
}

}  // namespace

Http1Session::Http1Session(TimerQueue& timers)
    : delay_timer_(timers, [this] { OnDelayTimer(); }),
      timeout_timer_(timers, [this] { OnTimeoutTimer(); }) {}

Http1Session::~Http1Session() {
  // Pooled sessions are cleared when given back; one destroyed while bound (a worker
  // stopping) is cleared by its connection first.
  assert(in_.empty() && out_.empty() && proxy_ == nullptr);
}

void Http1Session::Bind(WorkerContext* context, SessionHost* host) {
  context_ = context;
  host_ = host;
  queue_.Bind(context != nullptr ? &context->stats : nullptr,
              context != nullptr ? context->admission : nullptr);
}

void Http1Session::SetRead(ReadState next) {
  using R = ReadState;
  [[maybe_unused]] const R from = read_;
  assert(
      next == R::kStopped || next == R::kBetween ||
      (from == R::kBetween && (next == R::kPaused || next == R::kHead)) ||
      (from == R::kHead && next == R::kBody) ||
      ((from == R::kBody || from == R::kBodyHeld) && (next == R::kBody || next == R::kBodyHeld)));
  assert(next != R::kBetween || from != R::kStopped);
  read_ = next;
}

void Http1Session::SetWrite(WriteState next) {
  assert(next == write_ || static_cast<uint8_t>(next) == static_cast<uint8_t>(write_) + 1 ||
         next == WriteState::kLingering);
  write_ = next;
}

void Http1Session::StopReading() {
  if (in_body()) {
    final_request_ = true;  // its body is still read
  } else if (read_ != ReadState::kStopped) {
    SetRead(ReadState::kStopped);
  }
}

SessionPhase Http1Session::phase() const {
  if (read_ == ReadState::kHead) return SessionPhase::kReadingHead;
  if (in_body()) return SessionPhase::kReadingBody;
  if (!queue_.empty()) return SessionPhase::kWaiting;
  return SessionPhase::kAtRest;
}

bool Http1Session::CanRead() const {
  return host_->readable() && WantsInput() && in_.size() < kMaxBufferedInput;
}

void Http1Session::Progress(bool writable_again) {
  if (writable_again) {
    WriteOutput();
    if (closed()) {
      return;
    }
  }
  while (!closed() && write_ != WriteState::kLingering) {
    if (CanRead()) {
      ReadInput();
      if (closed()) {
        return;
      }
    }
    ProcessInput();
    if (closed()) {
      return;
    }
    const bool was_paused = read_ == ReadState::kPaused;
    FlushDueResponses();
    if (closed() || write_ == WriteState::kLingering) {
      return;
    }
    if (read_ == ReadState::kPaused && queue_.depth() < kMaxPipelineDepth && proxy_ == nullptr) {
      SetRead(ReadState::kBetween);
    }
    // The exchange took what was held back, or ended (an early answer): parse on.
    const bool resumed =
        (was_paused && read_ == ReadState::kBetween) ||
        (read_ == ReadState::kBodyHeld && (proxy_ == nullptr || proxy_->CanAcceptBody()));
    if (!resumed && !CanRead()) {
      break;
    }
  }
  if (!closed()) {
    Settle();
  }
}

void Http1Session::Reject(int status, uint32_t retry_after_seconds) {
  StopReading();
  EnqueueImmediate(status, /*close=*/true, retry_after_seconds);
  FlushDueResponses();
  if (!closed()) {
    Settle();
  }
}

void Http1Session::ReadInput() {
  const SessionHost::Input input = host_->ReadInput(in_, kMaxBufferedInput);
  if (input.arrived_at != 0) {
    arrived_at_ = input.arrived_at;
  }
}

void Http1Session::ProcessInput() {
  if (read_ == ReadState::kBodyHeld) {
    SetRead(ReadState::kBody);
  }
  while (true) {
    if (!in_body()) {
      // Between requests, or inside a head: start or continue one only if allowed.
      if (read_ == ReadState::kStopped || read_ == ReadState::kPaused || in_.empty()) {
        break;
      }
      if (queue_.depth() >= kMaxPipelineDepth || proxy_ != nullptr) {
        if (read_ == ReadState::kBetween) {
          SetRead(ReadState::kPaused);  // a proxied exchange is served alone
        }
        break;
      }
      if (read_ == ReadState::kBetween) {
        SetRead(ReadState::kHead);
        head_started_at_ = now();
        // Limits in force when a message starts apply to all of it (live updates included).
        parser_.set_limits(LimitsFrom(context_->snapshots.current()));
      }
    }
    if (in_body() && proxy_ != nullptr && !proxy_->CanAcceptBody()) {
      SetRead(ReadState::kBodyHeld);  // the upstream takes the body slower than it arrives
      break;
    }
    // The view stays valid through OnRequestHead: Consume only moves the read position.
    const std::string_view input = in_.readable();
    ParseResult result = parser_.Parse(input);
    in_.Consume(result.consumed);
    if (result.event == ParseEvent::kNeedMore) {
      break;
    }
    switch (result.event) {
      case ParseEvent::kHeadComplete:
        SetRead(ReadState::kBody);
        OnRequestHead(input.substr(0, result.consumed));
        break;
      case ParseEvent::kBodyData:
        if (proxy_ != nullptr) {
          proxy_->OnRequestBody(result.body);
        }
        break;  // the respond handler does not look at bodies
      case ParseEvent::kMessageComplete:
        OnMessageComplete();
        break;
      case ParseEvent::kError:
        OnParseError(result.error);
        return;
      case ParseEvent::kNeedMore:
        break;
    }
  }
  // The message being parsed needs the rest of its bytes: make sure a deadline covers it.
  if (read_ == ReadState::kHead) {
    ScheduleTimeout(head_started_at_ + context_->snapshots.current().header_timeout);
  }
  if (host_->input_ended() && (read_ == ReadState::kHead || read_ == ReadState::kBody)) {
    // The client half-closed in the middle of a request: it can never complete. (A body
    // held back for the upstream is all here; it completes as the upstream reads it.)
    AbandonCurrentRequest();
  }
}

void Http1Session::OnRequestHead(std::string_view head_block) {
  const RequestHead& head = parser_.head();
  WorkerContext& context = *context_;
  context.stats.requests.Add();
  RequestFacts facts{.head = head,
                     .config = context.snapshots.current(),
                     .now = now(),
                     .requests_on_connection = host_->CountRequest(),
                     .nothing_owed = queue_.empty()};
  ResponseDecision decision = DecideResponse(facts, context.handler, context.admission);
  switch (decision.refusal) {
    case Refusal::kRateLimited:
      context.stats.rejected.rate_limited.Add();
      break;
    case Refusal::kMaxPending:
      context.stats.rejected.max_pending.Add();
      break;
    case Refusal::kNone:
      break;
  }
  if (decision.closes_at_max_requests) {
    context.stats.closed_max_requests.Add();
  }
  if (decision.close) {
    final_request_ = true;  // nothing after this request is served
  }
  if (decision.send_continue) {
    out_.Append(context.pool, kContinue);
  }
  ResponsePlan& plan = decision.plan;
  // A request starts when its bytes arrived (when known), so its delay and latency count
  // the time it waited for the loop too.
  PendingResponse& entry = queue_.Append(arrived_at_ != 0 ? arrived_at_ : now());
  entry.deadline = entry.started + plan.delay;
  if (plan.delay > 0) {
    host_->EnableArrivalStamps();  // from the next read on, delays count from arrival
  }
  entry.snapshot = context.snapshots.Pin();
  entry.owns_body = plan.owns_body;
  if (plan.owns_body) {
    entry.owned_body = std::move(plan.owned_body);
  } else {
    entry.body = plan.body;
  }
  entry.content_type = plan.content_type;
  entry.status = plan.status;
  entry.retry_after_seconds = plan.retry_after_seconds;
  entry.head_only = head.method == HttpMethod::kHead;
  entry.close = decision.close;
  entry.keep_alive_header = head.version == HttpVersion::kHttp10 && !decision.close;
  entry.http10 = head.version == HttpVersion::kHttp10;
  entry.holds_pending = decision.holds_pending;
  entry.delayed = plan.delay > 0 && plan.proxy_route == nullptr;
  if (entry.delayed) {
    context.stats.pending_timers.Add(1);
  }
  if (plan.route == nullptr || context.upstreams == nullptr) {
    return;
  }
  // One lookup per request: the exchange and its upstream choice use the same state.
  RouteState& route_state = context.upstreams->ForRoute(plan.route->prefix);
  route_state.stats->requests.Add();
  if (plan.delay > 0) {
    route_state.stats->delayed.Add();
  }
  entry.route_stats = route_state.stats.get();
  if (plan.proxy_route != nullptr) {
    StartProxy(head, head_block, plan, route_state);
  }
}

void Http1Session::StartProxy(const RequestHead& head, std::string_view head_block,
                              const ResponsePlan& plan, RouteState& route_state) {
  PendingResponse& entry = queue_.back();
  entry.proxied = true;
  entry.ready = true;  // the response may stream before the request body has all arrived
  entry.deadline = now();
  // Leading empty lines the parser tolerated are not part of the head.
  while (head_block.starts_with("\r\n")) {
    head_block.remove_prefix(2);
  }
  const SocketAddress peer = host_->peer();
  proxy_ = context_->exchanges->Acquire();
  proxy_->Start(*this, context_->snapshots.Pin(), *plan.proxy_route, route_state, head, head_block,
                peer.Host(), plan.delay);
}

void Http1Session::OnProxyProgress() {
  if (!closed()) {
    Progress(/*writable_again=*/false);
  }
}

void Http1Session::DropProxy() {
  if (proxy_ != nullptr) {
    proxy_->Abandon();
    context_->exchanges->Release(std::move(proxy_));
  }
}

Http1Session::ProxyStep Http1Session::StreamProxy(bool close) {
  const PendingResponse& entry = queue_.front();
  proxy_->StreamInto(
      out_, ClientSide{.http10 = entry.http10, .head_only = entry.head_only, .close = close});
  switch (proxy_->outcome()) {
    case ProxyExchange::Outcome::kPending:
      return ProxyStep::kWaiting;
    case ProxyExchange::Outcome::kDone:
      return ProxyStep::kAnswered;
    case ProxyExchange::Outcome::kFailed:
      return ProxyStep::kFailed;
    case ProxyExchange::Outcome::kAborted:
      return ProxyStep::kAborted;
  }
  return ProxyStep::kAborted;
}

void Http1Session::OnMessageComplete() {
  SetRead(final_request_ ? ReadState::kStopped : ReadState::kBetween);
  if (proxy_ != nullptr) {
    proxy_->OnRequestComplete();
  }
  if (!queue_.empty()) {
    queue_.back().ready = true;
  }
  parser_.Reset();
}

void Http1Session::OnParseError(ParseError error) {
  const int status = StatusForParseError(error);
  switch (error) {
    case ParseError::kHeaderTooLarge:
      context_->stats.rejected.header_too_large.Add();
      break;
    case ParseError::kBodyTooLarge:
      context_->stats.rejected.body_too_large.Add();
      break;
    default:
      context_->stats.rejected.bad_request.Add();
      break;
  }
  AbandonCurrentRequest();
  if (closed()) {
    return;
  }
  EnqueueImmediate(status, /*close=*/true, 0);
}

void Http1Session::EnqueueImmediate(int status, bool close, uint32_t retry_after) {
  PendingResponse& entry = queue_.Append(now());
  entry.deadline = now();
  entry.body = ErrorBody(status);  // static text
  entry.content_type = "text/plain";
  entry.status = status;
  entry.close = close;
  entry.retry_after_seconds = retry_after;
  entry.ready = true;
  if (close) {
    StopReading();
  }
}

void Http1Session::SerializeDueResponses() {
  const MonoTime current = now();
  while (!queue_.empty() && out_.size() < kMaxBufferedOutput) {
    PendingResponse& entry = queue_.front();
    if (!entry.ready || entry.deadline > current) {
      break;
    }
    // A draining node closes after the last response owed, saying so in that response.
    const bool drain_close = context_->draining && read_ != ReadState::kHead && !in_body();
    bool close = entry.close || (queue_.front_is_last() && (host_->input_ended() || drain_close));
    if (entry.proxied) {
      const ProxyStep step = StreamProxy(close);
      if (step == ProxyStep::kWaiting) {
        break;
      }
      if (step == ProxyStep::kAborted) {
        host_->Close(CloseReason::kIoError);  // the response was cut: only closing says so
        return;
      }
      if (step == ProxyStep::kAnswered) {
        close = close || proxy_->closes_connection();
        const int status = proxy_->response_status();
        DropProxy();
        queue_.CompleteFront(status, current);
        if (close) {
          SetWrite(WriteState::kClosing);
          StopReading();
          break;
        }
        continue;
      }
      // Nothing reached the client: it gets a 502 or 504 like any other response.
      entry.proxied = false;
      entry.status = proxy_->error_status();
      entry.body = ErrorBody(entry.status);
      DropProxy();
    }
    ResponseHead head;
    head.status = entry.status;
    const std::string_view body = entry.body_text();
    head.content_length = body.size();
    head.content_type = entry.content_type;
    head.close = close;
    head.keep_alive_header = entry.keep_alive_header && !close;
    head.retry_after_seconds = entry.retry_after_seconds;
    AppendResponse(out_, context_->pool, head, context_->date.Get(WallClockSeconds()), body,
                   entry.head_only);
    queue_.CompleteFront(entry.status, current);
    if (close) {
      SetWrite(WriteState::kClosing);
      StopReading();
      break;
    }
  }
}

bool Http1Session::HasDueResponse() const {
  if (write_ != WriteState::kOpen || queue_.empty()) {
    return false;
  }
  const PendingResponse& front = queue_.front();
  return front.ready && front.deadline <= now();
}

void Http1Session::FlushDueResponses() {
  // Serialize and write in rounds: one round buffers at most kMaxBufferedOutput, and when the
  // socket takes it all without blocking no EPOLLOUT edge will come, so go on here.
  do {
    SerializeDueResponses();
    if (closed()) {
      return;
    }
    // A proxied response can end with no byte left to write (its last bytes went out in an
    // earlier round), and a close it owes must still happen: WriteOutput does that.
    if ((out_.empty() && write_ != WriteState::kClosing) || host_->write_blocked()) {
      break;
    }
    WriteOutput();
    if (closed() || write_ == WriteState::kLingering) {
      return;
    }
  } while (!host_->write_blocked() && HasDueResponse());
  if (!queue_.empty()) {
    const PendingResponse& front = queue_.front();
    if (front.ready && front.deadline > now() &&
        (!delay_timer_.armed() || delay_timer_.deadline() != front.deadline)) {
      delay_timer_.ArmAt(front.deadline);
    }
  }
}

void Http1Session::WriteOutput() {
  host_->WriteOutput(out_);
  if (closed()) {
    return;
  }
  if (proxy_ != nullptr && out_.size() < ProxyExchange::kLowWatermark) {
    proxy_->OnOutputDrained();
  }
  if (host_->write_blocked()) {
    return;
  }
  out_.ReleaseIfEmpty(context_->pool);
  if (write_ == WriteState::kClosing) {
    host_->EndOutput(/*input_left=*/!in_.empty());
  }
}

void Http1Session::ArmLingerTimeout(MonoTime deadline) {
  SetWrite(WriteState::kLingering);
  delay_timer_.Cancel();
  timeout_timer_.ArmAt(deadline);
}

void Http1Session::OnDelayTimer() {
  if (!closed()) {
    // Timers of one iteration run one after another: each response's lateness and latency
    // count the ones that ran before it.
    context_->loop.UpdateNow();
    Progress(/*writable_again=*/false);
  }
}

void Http1Session::OnTimeoutTimer() {
  if (closed()) {
    return;
  }
  if (write_ == WriteState::kLingering) {
    host_->Close(CloseReason::kNormal);
    return;
  }
  const ConfigSnapshot& config = context_->snapshots.current();
  const MonoTime current = now();
  MonoTime deadline = current + config.idle_timeout;
  if (host_->write_blocked()) {
    deadline = host_->last_activity() + config.idle_timeout;
    if (current >= deadline) {
      host_->Close(CloseReason::kIoError);  // the client stopped reading its responses
      return;
    }
  } else if (read_ == ReadState::kBodyHeld) {
    deadline = current + config.idle_timeout;  // we stopped reading, not the client
  } else if (read_ == ReadState::kHead || read_ == ReadState::kBody) {
    const bool head = read_ == ReadState::kHead;
    deadline = head ? head_started_at_ + config.header_timeout
                    : host_->last_activity() + config.idle_timeout;
    if (current >= deadline) {
      (head ? context_->stats.rejected.header_timeout : context_->stats.rejected.body_timeout)
          .Add();
      AbandonCurrentRequest();
      if (closed()) {
        return;
      }
      EnqueueImmediate(408, /*close=*/true, 0);
      Progress(/*writable_again=*/false);
      return;
    }
  } else if (queue_.empty()) {
    // Nothing owed but something still held (see Settle).
    deadline = host_->last_activity() + config.idle_timeout;
    if (current >= deadline) {
      host_->Close(CloseReason::kIdleTimeout);
      return;
    }
  }
  // Otherwise waiting on our own delay or upstream, which is not the client's fault: look
  // again later.
  timeout_timer_.ArmAt(deadline);
}

void Http1Session::ScheduleTimeout(MonoTime deadline) {
  // One timer covers every deadline; it only moves earlier here, and OnTimeoutTimer works
  // out the deadline that applies when it fires (so keep-alive requests re-arm nothing).
  if (!timeout_timer_.armed() || deadline < timeout_timer_.deadline()) {
    timeout_timer_.ArmAt(deadline);
  }
}

void Http1Session::OnConfigChanged() {
  if (write_ == WriteState::kLingering) {
    return;
  }
  const ConfigSnapshot& config = context_->snapshots.current();
  if (read_ == ReadState::kHead) {
    ScheduleTimeout(head_started_at_ + config.header_timeout);
  } else {
    ScheduleTimeout(host_->last_activity() + config.idle_timeout);
  }
}

void Http1Session::Settle() {
  if (write_ == WriteState::kLingering) {
    return;
  }
  const bool owes_nothing =
      !host_->write_blocked() && read_ != ReadState::kHead && !in_body() && queue_.empty();
  if (owes_nothing) {
    if (host_->input_ended()) {
      host_->Close(CloseReason::kPeerClosed);
      return;
    }
    if (context_->draining) {
      host_->Close(CloseReason::kDrain);
      return;
    }
    if (!in_.empty() || !out_.empty() || proxy_ != nullptr) {
      // Something is still held (not expected): keep the session and its timer.
      ScheduleTimeout(host_->last_activity() + context_->snapshots.current().idle_timeout);
      return;
    }
    host_->OnSessionAtRest();  // may give this session back to the pool: touch nothing after
    return;
  }
  // Nor does a busy session keep an empty read buffer: thousands may wait on their delay at
  // once, and 16 KiB each would be most of the node's memory.
  in_.ReleaseIfEmpty(context_->pool);
  if (in_body() || host_->write_blocked()) {
    // The client must go on sending or reading; only moves the timer earlier.
    ScheduleTimeout(host_->last_activity() + context_->snapshots.current().idle_timeout);
  }
}

void Http1Session::AbandonCurrentRequest() {
  if (in_body() && proxy_ != nullptr && proxy_->head_forwarded()) {
    // Part of the upstream's answer went out already: no other response can follow it.
    host_->Close(CloseReason::kIoError);
    return;
  }
  if (in_body()) {
    // Its response slot was queued at the head; it will never be ready, so release it.
    if (!queue_.empty() && queue_.back().proxied) {
      DropProxy();
      queue_.DropBack();
    } else if (!queue_.empty() && !queue_.back().ready) {
      queue_.DropBack();
    }
  }
  if (read_ == ReadState::kHead || in_body()) {
    SetRead(final_request_ ? ReadState::kStopped : ReadState::kBetween);
  }
  in_.Consume(in_.size());
}

void Http1Session::Abandon() {
  delay_timer_.Cancel();
  timeout_timer_.Cancel();
  DropProxy();
  queue_.ReleaseAll();
}

void Http1Session::Clear() {
  Abandon();
  in_.Consume(in_.size());
  out_.Consume(out_.size());
  in_.ReleaseIfEmpty(context_->pool);
  out_.ReleaseIfEmpty(context_->pool);
  parser_.Reset();  // it may have been mid-message
  head_started_at_ = 0;
  arrived_at_ = 0;
  read_ = ReadState::kBetween;
  write_ = WriteState::kOpen;
  final_request_ = false;
}

}  // namespace proxynode
