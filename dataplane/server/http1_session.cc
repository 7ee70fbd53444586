#include "dataplane/server/http1_session.h"

#include <cassert>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/response_decision.h"

namespace proxynode {

Http1Session::Http1Session(TimerQueue& timers)
    : delay_timer_(timers, [this] { OnDelayTimer(); }),
      timeout_timer_(timers, [this] { OnTimeoutTimer(); }),
      pace_timer_(timers, [this] { OnPaceTimer(); }) {}

Http1Session::~Http1Session() {
  // Pooled sessions are cleared when given back; one destroyed while bound (a worker
  // stopping) is cleared by its connection first.
  assert(reader_.input().empty() && writer_.empty() && proxy_ == nullptr);
}

void Http1Session::Bind(WorkerContext* context, SessionHost* host) {
  context_ = context;
  host_ = host;
  peer_ = SocketAddress{};
  queue_.Bind(
      context != nullptr ? &context->stats : nullptr,
      context != nullptr && context->serving != nullptr ? &context->serving->admission : nullptr,
      context != nullptr ? context->access : nullptr);
  writer_.Bind(context, host);
}

SessionPhase Http1Session::phase() const {
  if (reader_.in_head()) return SessionPhase::kReadingHead;
  if (reader_.in_body()) return SessionPhase::kReadingBody;
  if (!queue_.empty()) return SessionPhase::kWaiting;
  return SessionPhase::kAtRest;
}

void Http1Session::Progress(bool writable_again) {
  if (CancelProxyForGoneClient()) {
    return;
  }
  if (writable_again) {
    writer_.Write();
    if (closed()) {
      return;
    }
  }
  while (!closed() && !writer_.lingering()) {
    if (reader_.CanRead(*host_)) {
      reader_.Read(*host_);
      if (closed()) {
        return;
      }
    }
    ProcessInput();
    if (http2_start_ != Http2Start::kNone) {
      SwitchToHttp2();  // this session is back in its pool: touch nothing after
      return;
    }
    if (closed()) {
      return;
    }
    const bool was_paused = reader_.paused();
    writer_.Flush();
    if (closed() || writer_.lingering()) {
      return;
    }
    const Http1RequestReader::Allowance allowance = Allowance();
    if (reader_.paused() && allowance.new_request) {
      reader_.Resume();
    }
    // The exchange took what was held back, or ended (an early answer): parse on.
    const bool resumed =
        (was_paused && !reader_.paused()) || (reader_.body_held() && allowance.body);
    if (!resumed && !reader_.CanRead(*host_)) {
      break;
    }
  }
  if (!closed() && !CancelProxyForGoneClient()) {
    Settle();
  }
}

bool Http1Session::CancelProxyForGoneClient() {
  // A half-close cannot be told from a close (both are a FIN), and a proxied request holds an
  // upstream: so a FIN cancels it too, as nginx's default (proxy_ignore_client_abort off).
  // The node's own answers cost nothing to finish, so a half-closed client still gets those.
  if (proxy_ == nullptr || !host_->peer_hung_up() || !proxy_->Cancel()) {
    return false;
  }
  host_->Close(CloseReason::kPeerClosed);  // drops the exchange and the responses owed
  return true;
}

void Http1Session::Reject(int status, uint32_t retry_after_seconds) {
  reader_.StopReading();
  EnqueueImmediate(status, /*close=*/true, retry_after_seconds);
  writer_.Flush();
  if (!closed()) {
    Settle();
  }
}

bool Http1Session::AwaitsOrStartsHttp2() {
  if (reader_.state() != Http1RequestReader::State::kBetween || !queue_.empty() ||
      proxy_ != nullptr || reader_.input().empty()) {
    return false;
  }
  switch (MatchClientPreface(reader_.input().readable())) {
    case PrefaceMatch::kYes:
      http2_start_ = Http2Start::kPreface;
      return true;
    case PrefaceMatch::kPartial:
      return !host_->input_ended();  // the rest of it may come
    case PrefaceMatch::kNo:
      return false;
  }
  return false;
}

void Http1Session::SwitchToHttp2() {
  const Http2Upgrade* upgrade = http2_start_ == Http2Start::kUpgrade ? &upgrade_ : nullptr;
  http2_start_ = Http2Start::kNone;
  host_->SwitchToHttp2(reader_.input().readable(), upgrade);
}

void Http1Session::ProcessInput() {
  reader_.Unhold();
  while (http2_start_ == Http2Start::kNone) {
    if (AwaitsOrStartsHttp2()) {
      return;
    }
    const Http1RequestReader::Step step =
        reader_.Next(Allowance(), context_->snapshots.current(), now());
    if (step.kind == Http1RequestReader::Step::Kind::kWait) {
      break;
    }
    switch (step.kind) {
      case Http1RequestReader::Step::Kind::kHead:
        OnRequestHead(step.bytes);
        break;
      case Http1RequestReader::Step::Kind::kBody:
        if (proxy_ != nullptr) {
          proxy_->OnRequestBody(step.bytes);
        }
        break;  // the respond handler does not look at bodies
      case Http1RequestReader::Step::Kind::kComplete:
        OnMessageComplete();
        break;
      case Http1RequestReader::Step::Kind::kError:
        OnParseError(step.error);
        return;
      case Http1RequestReader::Step::Kind::kWait:
        break;
    }
  }
  // The message being parsed needs the rest of its bytes: make sure a deadline covers it.
  if (reader_.in_head()) {
    ScheduleTimeout(reader_.head_started_at() + context_->snapshots.current().header_timeout);
  }
  if (host_->input_ended() &&
      (reader_.in_head() || reader_.state() == Http1RequestReader::State::kBody)) {
    // The client half-closed in the middle of a request: it can never complete. (A body
    // held back for the upstream is all here; it completes as the upstream reads it.)
    AbandonCurrentRequest();
  }
}

void Http1Session::OnRequestHead(std::string_view head_block) {
  const RequestHead& head = reader_.head();
  if (queue_.empty() && proxy_ == nullptr && AcceptH2cUpgrade(head, head_block, &upgrade_)) {
    http2_start_ = Http2Start::kUpgrade;  // answered as HTTP/2's stream 1
    return;
  }
  WorkerContext& context = *context_;
  context.stats.requests.Add();
  RequestFacts facts{.head = head,
                     .head_block = head_block,
                     .config = context.snapshots.current(),
                     .now = now(),
                     .requests_on_connection = host_->CountRequest(),
                     .nothing_owed = queue_.empty(),
                     .host = host_};
  ResponseDecision decision = DecideInWorker(facts, context);
  if (decision.closes_at_max_requests) {
    context.stats.closed_max_requests.Add();
  }
  if (decision.close) {
    reader_.MarkFinal();  // nothing after this request is served
  }
  if (decision.send_continue) {
    writer_.SendContinue();
  }
  ResponsePlan& plan = decision.plan;
  // A request starts when its bytes arrived (when known), so its delay and latency count
  // the time it waited for the loop too. Unknown (no stamp yet), a delayed one starts now,
  // read afresh: the loop's time may predate its bytes, and a delay must not end early.
  MonoTime started = reader_.arrived_at();
  if (started == 0) {
    started = plan.delay > 0 || plan.first_byte_delay > 0 ? context.loop.UpdateNow() : now();
  }
  PendingResponse& entry = queue_.AppendDecided(head, decision, started, context.snapshots.Pin());
  if (context.access != nullptr) {
    RecordAccess(entry, head, head_block, plan);
  }
  if (plan.delay > 0) {
    host_->EnableArrivalStamps();  // from the next read on, delays count from arrival
  }
  if (plan.route == nullptr || context.serving == nullptr) {
    return;
  }
  // One lookup per request: the exchange and its upstream choice use the same state.
  RouteState& route_state = context.serving->upstreams.ForRoute(plan.route->prefix);
  route_state.stats->requests.Add();
  if (plan.delay > 0) {
    route_state.stats->delayed.Add();
  }
  entry.route_stats = route_state.stats.get();
  if (plan.proxy_route != nullptr) {
    StartProxy(head, head_block, plan, route_state);
  }
}

void Http1Session::RecordAccess(PendingResponse& entry, const RequestHead& head,
                                std::string_view head_block, const ResponsePlan& plan) {
  AccessRecord* record = context_->access->Begin(entry.started, head.method, head.target,
                                                 head_block.size() + head.content_length);
  if (record == nullptr) {
    return;  // not in the sample
  }
  if (peer_.length == 0) {
    peer_ = host_->peer();  // one getpeername per connection logged, not per request
  }
  record->peer = peer_;
  record->protocol = "http/1.1";
  record->tls_version = host_->tls_version();
  // Names from the config snapshot the entry pins until the line is written.
  record->delay = plan.delay + plan.first_byte_delay + plan.proxy_hold;
  record->route = plan.route != nullptr ? std::string_view(plan.route->prefix) : "";
  record->fault = plan.fault.rule != nullptr ? std::string_view(plan.fault.rule->name) : "";
  entry.access = record;
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
  proxy_ = context_->serving->exchanges.Acquire();
  proxy_->Start(*this, context_->snapshots.Pin(), *plan.proxy_route, route_state, head, head_block,
                peer.Host(), plan.delay);
}

void Http1Session::OnProxyProgress() {
  if (!closed()) {
    Progress(/*writable_again=*/false);
  }
}

void Http1Session::OnMessageComplete() {
  if (proxy_ != nullptr) {
    proxy_->OnRequestComplete();
  }
  if (!queue_.empty()) {
    queue_.back().ready = true;
  }
}

void Http1Session::OnParseError(ParseError error) {
  const int status = StatusForParseError(error);
  switch (error) {
    case ParseError::kHeaderTooLarge:
    case ParseError::kTargetTooLong:
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
    reader_.StopReading();
  }
}

void Http1Session::ArmLingerTimeout(MonoTime deadline) {
  writer_.Linger();
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

void Http1Session::OnPaceTimer() {
  if (!closed()) {
    context_->loop.UpdateNow();
    Progress(/*writable_again=*/true);
  }
}

void Http1Session::OnTimeoutTimer() {
  if (closed()) {
    return;
  }
  if (writer_.lingering()) {
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
  } else if (reader_.body_held()) {
    deadline = current + config.idle_timeout;  // we stopped reading, not the client
  } else if (reader_.in_head() || reader_.in_body()) {
    const bool head = reader_.in_head();
    deadline = head ? reader_.head_started_at() + config.header_timeout
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
  if (writer_.lingering()) {
    return;
  }
  const ConfigSnapshot& config = context_->snapshots.current();
  if (reader_.in_head()) {
    ScheduleTimeout(reader_.head_started_at() + config.header_timeout);
  } else {
    ScheduleTimeout(host_->last_activity() + config.idle_timeout);
  }
}

void Http1Session::Settle() {
  if (writer_.lingering()) {
    return;
  }
  const bool owes_nothing =
      !host_->write_blocked() && !reader_.in_head() && !reader_.in_body() && queue_.empty();
  if (owes_nothing) {
    if (host_->input_ended()) {
      host_->Close(CloseReason::kPeerClosed);
      return;
    }
    if (context_->draining) {
      host_->Close(CloseReason::kDrain);
      return;
    }
    if (!reader_.input().empty() || !writer_.empty() || proxy_ != nullptr) {
      // Something is still held (output a fault rule paces, or not expected): keep the
      // session and its timer.
      ScheduleTimeout(host_->last_activity() + context_->snapshots.current().idle_timeout);
      return;
    }
    host_->OnSessionAtRest();  // may give this session back to the pool: touch nothing after
    return;
  }
  // Nor does a busy session keep an empty read buffer: thousands may wait on their delay at
  // once, and 16 KiB each would be most of the node's memory.
  reader_.input().ReleaseIfEmpty(context_->pool);
  if (reader_.in_body() || host_->write_blocked()) {
    // The client must go on sending or reading; only moves the timer earlier.
    ScheduleTimeout(host_->last_activity() + context_->snapshots.current().idle_timeout);
  }
}

void Http1Session::AbandonCurrentRequest() {
  if (reader_.in_body() && proxy_ != nullptr && proxy_->head_forwarded()) {
    // Part of the upstream's answer went out already: no other response can follow it.
    host_->Close(CloseReason::kIoError);
    return;
  }
  if (reader_.in_body()) {
    // Its response slot was queued at the head; it will never be ready, so release it.
    if (!queue_.empty() && queue_.back().proxied) {
      context_->serving->exchanges.Drop(proxy_);
      queue_.DropBack();
    } else if (!queue_.empty() && !queue_.back().ready) {
      queue_.DropBack();
    }
  }
  reader_.AbandonRequest();
}

void Http1Session::Abandon() {
  delay_timer_.Cancel();
  timeout_timer_.Cancel();
  writer_.Abandon();  // cancels the pace timer
  if (proxy_ != nullptr) {
    context_->serving->exchanges.Drop(proxy_);
  }
  queue_.ReleaseAll();
}

void Http1Session::Clear() {
  Abandon();
  http2_start_ = Http2Start::kNone;
  upgrade_.head_block.clear();
  upgrade_.settings.clear();
  reader_.Clear(context_->pool);
  writer_.Clear(context_->pool);
}

}  // namespace proxynode
