#include "dataplane/server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "dataplane/core/socket_ops.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/admission.h"

namespace proxynode {
namespace {

constexpr size_t kReadChunk = 4096;
// Input buffered beyond a request head before parsing catches up (bodies stream through).
constexpr size_t kMaxBufferedInput = 64 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Proxied response bytes buffered toward the client before the upstream is left to wait.
constexpr size_t kMaxProxyOutput = 64 * 1024;

ParserLimits LimitsFrom(const ConfigSnapshot& config) {
  ParserLimits limits;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_body_bytes = config.max_body_bytes;
  return limits;
}

std::string_view ErrorBody(int status) {
  switch (status) {
    case 408:
      return "Request Timeout\n";
    case 413:
      return "Content Too Large\n";
    case 429:
      return "Too Many Requests\n";
    case 431:
      return "Request Header Fields Too Large\n";
    case 502:
      return "Bad Gateway\n";
    case 504:
      return "Gateway Timeout\n";
    case 501:
      return "Not Implemented\n";
    case 503:
      return "Service Unavailable\n";
    case 505:
      return "HTTP Version Not Supported\n";
    default:
      return "Bad Request\n";
  }
}

}  // namespace

std::string_view Connection::StateName(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kReadingHead:
      return "reading_head";
    case State::kReadingBody:
      return "reading_body";
    case State::kWaiting:
      return "waiting";
    case State::kWriting:
      return "writing";
    case State::kLingering:
      return "lingering";
    case State::kClosed:
      return "closed";
  }
  return "unknown";
}

Connection::Connection(WorkerContext& context, int fd, uint64_t id, bool holds_slot)
    : context_(context),
      id_(id),
      accepted_at_(context.loop.now()),
      last_activity_(context.loop.now()),
      fd_(fd),
      holds_slot_(holds_slot) {}

Connection::Connection(WorkerContext& context, uint64_t id, const ConnectionHandover& handover)
    : Connection(context, handover.fd, id, handover.holds_slot) {
  accepted_at_ = handover.accepted_at;
  requests_served_ = handover.requests_served;
  bytes_in_ = handover.bytes_in;
  bytes_out_ = handover.bytes_out;
}

Connection::~Connection() {
  // Normally closed already; a worker shutting down destroys open ones directly.
  ReleaseResources();
  if (active_ != nullptr) {
    // Whatever was left unread, unsent or owed goes; the activity goes back to the pool clean.
    active_->in.Consume(active_->in.size());
    active_->out.Consume(active_->out.size());
    active_->parser.Reset();  // it may have been mid-message
    DropProxy();
    ReleaseQueue();
    ReturnActivity();
  }
}

void Connection::Start() {
  context_.stats.connections_active.Add(1);
  // Edge-triggered for both directions: registered once, never modified.
  context_.loop.AddFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  socket_readable_ = true;  // bytes may have arrived before registration
  Progress();
}

void Connection::StartRejected(int status, uint32_t retry_after_seconds) {
  context_.stats.connections_active.Add(1);
  context_.loop.AddFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  Activate();
  stop_reading_ = true;
  EnqueueImmediate(status, ErrorBody(status), /*close=*/true, retry_after_seconds);
  FlushDueResponses();
  if (!closed()) {
    UpdateState();
  }
}

void Connection::BeginDrain() {
  if (state_ == State::kIdle) {
    Close(CloseReason::kDrain);
  }
}

void Connection::Abort() { Close(CloseReason::kDrain); }

void Connection::OnConfigChanged() {
  // Idle connections have no timer of their own: IdleConnections follows the change.
  if (closed() || state_ == State::kLingering || active_ == nullptr) {
    return;
  }
  const ConfigSnapshot& config = context_.snapshots.current();
  if (state_ == State::kReadingHead) {
    ScheduleTimeout(active_->head_started_at + config.header_timeout);
  } else {
    ScheduleTimeout(last_activity_ + config.idle_timeout);
  }
}

ConnectionHandover Connection::Detach() {
  ConnectionHandover handover;
  handover.fd = fd_;
  handover.holds_slot = holds_slot_;
  handover.accepted_at = accepted_at_;
  handover.requests_served = requests_served_;
  handover.bytes_in = bytes_in_;
  handover.bytes_out = bytes_out_;
  context_.loop.RemoveFd(fd_);
  context_.idle.Remove(*this);
  holds_slot_ = false;  // the slot travels with the socket
  state_ = State::kClosed;
  context_.stats.connections_active.Add(-1);
  context_.stats.connections_handed_out.Add();
  context_.owner.OnConnectionClosed(this);
  return handover;
}

ConnectionInfo Connection::Describe(int worker) const {
  ConnectionInfo info;
  info.id = id_;
  info.worker = worker;
  info.peer = PeerAddress(fd_).ToString();
  info.accepted_at = accepted_at_;
  info.requests_served = requests_served_;
  info.state = StateName(state_);
  info.bytes_in = bytes_in_;
  info.bytes_out = bytes_out_;
  return info;
}

void Connection::OnFileEvent(uint32_t events) {
  if (closed()) {
    return;  // a stale event from this iteration's batch
  }
  if (state_ == State::kLingering) {
    DiscardInput();
    return;
  }
  constexpr uint32_t kInputEvents = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  if (active_ == nullptr && (events & kInputEvents) == 0) {
    return;  // idle: an EPOLLOUT edge (the last response's bytes acknowledged) needs nothing
  }
  if ((events & EPOLLOUT) != 0 && write_blocked_) {
    write_blocked_ = false;
    WriteOutput();
    if (closed()) {
      return;
    }
  }
  if ((events & kInputEvents) != 0) {
    socket_readable_ = true;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    peer_shut_down_ = true;  // the EOF may sit right behind the data: read until it
  }
  Progress();
}

void Connection::Progress() {
  Activate();
  while (!closed() && state_ != State::kLingering) {
    if (socket_readable_ && WantsInput() && active_->in.size() < kMaxBufferedInput) {
      ReadSocket();
      if (closed()) {
        return;
      }
    }
    ProcessInput();
    if (closed()) {
      return;
    }
    bool was_paused = reading_paused_;
    FlushDueResponses();
    if (closed() || state_ == State::kLingering) {
      return;
    }
    if (reading_paused_ && queue_depth() < kMaxPipelineDepth && active_->proxy == nullptr) {
      reading_paused_ = false;
    }
    bool unpaused = was_paused && !reading_paused_;
    // The exchange took what was held back, or ended (an early answer): parse on.
    unpaused =
        unpaused || (body_held_ && (active_->proxy == nullptr || active_->proxy->CanAcceptBody()));
    bool can_read = socket_readable_ && WantsInput() && active_->in.size() < kMaxBufferedInput;
    if (!unpaused && !can_read) {
      break;
    }
  }
  if (!closed()) {
    UpdateState();
  }
}

void Connection::ReadSocket() {
  while (active_->in.size() < kMaxBufferedInput) {
    size_t available;
    char* space = active_->in.PrepareWrite(context_.pool, kReadChunk, &available);
    int64_t arrived_realtime = 0;
    ssize_t n = arrival_stamps_ ? ReceiveStamped(fd_, space, available, &arrived_realtime)
                                : recv(fd_, space, available, 0);
    if (n > 0) {
      auto bytes = static_cast<size_t>(n);
      active_->in.Commit(bytes);
      context_.stats.bytes_in.Add(bytes);
      bytes_in_ += bytes;
      if (arrival_stamps_) {
        NoteArrival(arrived_realtime);
      }
      last_activity_ = now();
      if (bytes < available && !peer_shut_down_) {
        // A short read drained the socket; edge-triggered epoll reports the next arrival.
        // Not so for a FIN that came with this edge: it was reported already, so read on.
        socket_readable_ = false;
        return;
      }
      continue;
    }
    if (n == 0) {
      // Nothing more will come, but what already came is still served: the requests buffered
      // with the FIN (data and FIN reported in one wake-up) are parsed and answered, the last
      // answer says Connection: close. stop_reading_ would skip them.
      socket_readable_ = false;
      peer_closed_ = true;
      return;
    }
    if (errno == EINTR) {
      continue;
    }
    socket_readable_ = false;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      Close(CloseReason::kIoError);
    }
    return;
  }
}

void Connection::NoteArrival(int64_t arrived_realtime) {
  // Read the clock again: this read may come late in a long batch of events, and a delay
  // must never start before its request arrived.
  const MonoTime current = context_.loop.UpdateNow();
  // No stamp: these bytes came before stamping began, so count from now.
  active_->arrived_at =
      arrived_realtime == 0
          ? current
          : MonotonicFromRealtime(arrived_realtime, RealtimeNanos(), current, kMaxArrivalAge);
}

void Connection::DiscardInput() {
  char scratch[kReadChunk];
  while (true) {
    ssize_t n = recv(fd_, scratch, sizeof(scratch), 0);
    if (n > 0) {
      context_.stats.bytes_in.Add(static_cast<uint64_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    Close(CloseReason::kNormal);  // EOF or error: the client has what it needs
    return;
  }
}

void Connection::ProcessInput() {
  body_held_ = false;
  while (true) {
    if (!body_in_progress_) {
      // Between requests, or inside a head: start or continue one only if allowed.
      if (stop_reading_ || active_->in.empty()) {
        break;
      }
      if (queue_depth() >= kMaxPipelineDepth || active_->proxy != nullptr) {
        reading_paused_ = true;  // a proxied exchange is served alone
        break;
      }
      if (!head_in_progress_) {
        head_in_progress_ = true;
        active_->head_started_at = now();
        // Limits in force when a message starts apply to all of it (live updates included).
        active_->parser.set_limits(LimitsFrom(context_.snapshots.current()));
      }
    }
    if (body_in_progress_ && active_->proxy != nullptr && !active_->proxy->CanAcceptBody()) {
      body_held_ = true;  // the upstream takes the body slower than the client sends it
      break;
    }
    // The view stays valid through OnRequestHead: Consume only moves the read position.
    const std::string_view input = active_->in.readable();
    ParseResult result = active_->parser.Parse(input);
    active_->in.Consume(result.consumed);
    if (result.event == ParseEvent::kNeedMore) {
      break;
    }
    switch (result.event) {
      case ParseEvent::kHeadComplete:
        head_in_progress_ = false;
        body_in_progress_ = true;
        OnRequestHead(input.substr(0, result.consumed));
        break;
      case ParseEvent::kBodyData:
        if (active_->proxy != nullptr) {
          active_->proxy->OnRequestBody(result.body);
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
  if (head_in_progress_ && !stop_reading_) {
    ScheduleTimeout(active_->head_started_at + context_.snapshots.current().header_timeout);
  }
  if (peer_closed_ && !body_held_ && (head_in_progress_ || body_in_progress_)) {
    // The client half-closed in the middle of a request: it can never complete. (A body
    // held back for the upstream is all here; it completes as the upstream reads it.)
    AbandonCurrentRequest();
  }
}

void Connection::OnRequestHead(std::string_view head_block) {
  const RequestHead& head = active_->parser.head();
  const ConfigSnapshot& config = context_.snapshots.current();
  context_.stats.requests.Add();
  ++requests_served_;

  ResponsePlan plan;
  bool holds_pending = false;
  if (context_.admission != nullptr &&
      !context_.admission->TryAcquireRate(config.rate_limit, now())) {
    context_.stats.rejected.rate_limited.Add();
    plan.status = 429;
    plan.body = ErrorBody(429);
    plan.retry_after_seconds = 1;
  } else {
    context_.handler.Handle(head, config, plan);
    if (plan.delay > 0 && context_.admission != nullptr) {
      if (context_.admission->TryAcquirePending(config.max_pending)) {
        holds_pending = true;
      } else {
        context_.stats.rejected.max_pending.Add();
        plan = ResponsePlan{};
        plan.status = 503;
        plan.body = ErrorBody(503);
        plan.retry_after_seconds = 1;
      }
    }
  }

  bool last_allowed = config.max_requests_per_connection != 0 &&
                      requests_served_ >= config.max_requests_per_connection;
  if (last_allowed && head.keep_alive && !plan.close) {
    context_.stats.closed_max_requests.Add();
  }
  bool close = plan.close || !head.keep_alive || last_allowed;
  if (close) {
    stop_reading_ = true;  // nothing after this request is served
  }
  if (head.expect_continue && (head.chunked || head.content_length > 0) && queue_depth() == 0 &&
      plan.status < 400) {
    active_->out.Append(context_.pool, kContinue);
  }

  PendingResponse& entry = AppendEntry();
  entry.deadline = entry.started + plan.delay;
  if (plan.delay > 0 && !arrival_stamps_) {
    // From the next read on, delays count from arrival (this one counts from now).
    EnableArrivalTimestamps(fd_);
    arrival_stamps_ = true;
  }
  entry.snapshot = context_.snapshots.Pin();
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
  entry.close = close;
  entry.keep_alive_header = head.version == HttpVersion::kHttp10 && !close;
  entry.http10 = head.version == HttpVersion::kHttp10;
  entry.holds_pending = holds_pending;
  entry.delayed = plan.delay > 0 && plan.proxy_route == nullptr;
  if (entry.delayed) {
    context_.stats.pending_timers.Add(1);
  }
  if (plan.route == nullptr || context_.upstreams == nullptr) {
    return;
  }
  // One lookup per request: the exchange and its upstream choice use the same state.
  RouteState& route_state = context_.upstreams->ForRoute(plan.route->prefix);
  route_state.stats->requests.Add();
  if (plan.delay > 0) {
    route_state.stats->delayed.Add();
  }
  entry.route_stats = route_state.stats.get();
  if (plan.proxy_route != nullptr) {
    StartProxy(head, head_block, plan, route_state);
  }
}

void Connection::StartProxy(const RequestHead& head, std::string_view head_block,
                            const ResponsePlan& plan, RouteState& route_state) {
  PendingResponse& entry = active_->queue.back();
  entry.proxied = true;
  entry.ready = true;  // the response may stream before the request body has all arrived
  entry.deadline = now();
  // Leading empty lines the parser tolerated are not part of the head.
  while (head_block.starts_with("\r\n")) {
    head_block.remove_prefix(2);
  }
  const SocketAddress peer = PeerAddress(fd_);
  active_->proxy = context_.exchanges->Acquire();
  active_->proxy->Start(*this, context_.snapshots.Pin(), *plan.proxy_route, route_state, head,
                        head_block, peer.Host(), plan.delay);
}

void Connection::OnProxyProgress() {
  if (!closed()) {
    Progress();
  }
}

void Connection::DropProxy() {
  if (active_->proxy != nullptr) {
    active_->proxy->Abandon();
    context_.exchanges->Release(std::move(active_->proxy));
  }
}

Connection::ProxyStep Connection::PumpProxy(bool close) {
  ProxyExchange::ClientSide client;
  const PendingResponse& entry = active_->queue[active_->queue_head];
  client.http10 = entry.http10;
  client.head_only = entry.head_only;
  client.close = close;
  switch (active_->proxy->Pump(active_->out, context_.pool, kMaxProxyOutput, client)) {
    case ProxyExchange::PumpResult::kWaiting:
      return ProxyStep::kWaiting;
    case ProxyExchange::PumpResult::kDone:
      return ProxyStep::kAnswered;
    case ProxyExchange::PumpResult::kFailed:
      return ProxyStep::kFailed;
    case ProxyExchange::PumpResult::kAborted:
      return ProxyStep::kAborted;
  }
  return ProxyStep::kAborted;
}

void Connection::OnMessageComplete() {
  body_in_progress_ = false;
  if (active_->proxy != nullptr) {
    active_->proxy->OnRequestComplete();
  }
  if (queue_depth() > 0) {
    active_->queue.back().ready = true;
  }
  active_->parser.Reset();
}

void Connection::OnParseError(ParseError error) {
  int status = StatusForParseError(error);
  switch (error) {
    case ParseError::kHeaderTooLarge:
      context_.stats.rejected.header_too_large.Add();
      break;
    case ParseError::kBodyTooLarge:
      context_.stats.rejected.body_too_large.Add();
      break;
    default:
      context_.stats.rejected.bad_request.Add();
      break;
  }
  AbandonCurrentRequest();
  if (closed()) {
    return;
  }
  EnqueueImmediate(status, ErrorBody(status), /*close=*/true, 0);
}

void Connection::EnqueueImmediate(int status, std::string_view body, bool close,
                                  uint32_t retry_after) {
  PendingResponse& entry = AppendEntry();
  entry.deadline = now();
  entry.body = body;  // static text
  entry.content_type = "text/plain";
  entry.status = status;
  entry.close = close;
  entry.retry_after_seconds = retry_after;
  entry.ready = true;
  if (close) {
    stop_reading_ = true;
  }
}

void Connection::SerializeDueResponses() {
  const MonoTime current = now();
  while (active_->queue_head < active_->queue.size() && active_->out.size() < kMaxBufferedOutput) {
    PendingResponse& entry = active_->queue[active_->queue_head];
    if (!entry.ready || entry.deadline > current) {
      break;
    }
    bool last = active_->queue_head + 1 == active_->queue.size();
    // A draining node closes after the last response owed, saying so in that response.
    bool drain_close = context_.draining && !head_in_progress_ && !body_in_progress_;
    bool close = entry.close || (last && (peer_closed_ || drain_close));
    if (entry.proxied) {
      const ProxyStep step = PumpProxy(close);
      if (step == ProxyStep::kWaiting) {
        break;
      }
      if (step == ProxyStep::kAborted) {
        Close(CloseReason::kIoError);  // the response was cut: only closing can say so
        return;
      }
      if (step == ProxyStep::kAnswered) {
        close = close || active_->proxy->closes_connection();
        const int status = active_->proxy->response_status();
        DropProxy();
        CompleteEntry(entry, status, current);
        if (close) {
          close_after_write_ = true;
          stop_reading_ = true;
          break;
        }
        continue;
      }
      // Nothing reached the client: it gets a 502 or 504 like any other response.
      entry.proxied = false;
      entry.status = active_->proxy->error_status();
      entry.body = ErrorBody(entry.status);
      DropProxy();
    }
    ResponseHead head;
    head.status = entry.status;
    std::string_view body = entry.owns_body ? std::string_view(entry.owned_body) : entry.body;
    head.content_length = body.size();
    head.content_type = entry.content_type;
    head.close = close;
    head.keep_alive_header = entry.keep_alive_header && !close;
    head.retry_after_seconds = entry.retry_after_seconds;
    AppendResponse(active_->out, context_.pool, head, context_.date.Get(WallClockSeconds()), body,
                   entry.head_only);
    CompleteEntry(entry, entry.status, current);
    if (close) {
      close_after_write_ = true;
      stop_reading_ = true;
      break;
    }
  }
  if (active_->queue_head == active_->queue.size()) {
    active_->queue.clear();
    active_->queue_head = 0;
  }
}

void Connection::CompleteEntry(PendingResponse& entry, int status, MonoTime current) {
  WorkerStats& stats = context_.stats;
  stats.CountResponse(status);
  stats.request_latency.Record(current - entry.started);
  if (entry.route_stats != nullptr) {
    entry.route_stats->latency.Record(current - entry.started);
  }
  if (entry.delayed) {
    stats.timer_lateness.Record(current - entry.deadline);
    stats.pending_timers.Add(-1);
  }
  if (entry.holds_pending) {
    context_.admission->ReleasePending();
  }
  entry = PendingResponse{};  // unpins the snapshot now
  ++active_->queue_head;
}

bool Connection::HasDueResponse() const {
  if (close_after_write_ || active_->queue_head == active_->queue.size()) {
    return false;
  }
  const PendingResponse& front = active_->queue[active_->queue_head];
  return front.ready && front.deadline <= now();
}

PendingResponse& Connection::AppendEntry() {
  // Restart at the front once everything queued has left: the vector's capacity is reused,
  // so a keep-alive connection allocates nothing per request.
  if (active_->queue_head == active_->queue.size()) {
    active_->queue.clear();
    active_->queue_head = 0;
  }
  PendingResponse& entry = active_->queue.emplace_back();
  // A request starts when its bytes arrived (when known), so its delay and latency count the
  // time it waited for the loop too.
  entry.started = active_->arrived_at != 0 ? active_->arrived_at : now();
  return entry;
}

void Connection::FlushDueResponses() {
  // Serialize and write in rounds: one round buffers at most kMaxBufferedOutput, and when the
  // socket takes it all without blocking no EPOLLOUT edge will come, so go on here.
  do {
    SerializeDueResponses();
    if (closed()) {
      return;
    }
    // A proxied response can end with no byte left to write (its last bytes went out in an
    // earlier round), and a close it owes must still happen: WriteOutput does that.
    if ((active_->out.empty() && !close_after_write_) || write_blocked_) {
      break;
    }
    WriteOutput();
    if (closed() || state_ == State::kLingering) {
      return;
    }
  } while (!write_blocked_ && HasDueResponse());
  const MonoTime current = now();
  if (active_->queue_head < active_->queue.size()) {
    const PendingResponse& front = active_->queue[active_->queue_head];
    if (front.ready && front.deadline > current &&
        (!active_->delay_timer.armed() || active_->delay_timer.deadline() != front.deadline)) {
      active_->delay_timer.ArmAt(front.deadline);
    }
  }
}

void Connection::WriteOutput() {
  while (!active_->out.empty()) {
    std::string_view data = active_->out.readable();
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      auto bytes = static_cast<size_t>(n);
      active_->out.Consume(bytes);
      context_.stats.bytes_out.Add(bytes);
      bytes_out_ += bytes;
      last_activity_ = now();
      if (bytes < data.size()) {
        write_blocked_ = true;  // the socket buffer is full; EPOLLOUT will tell us
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      write_blocked_ = true;
      return;
    }
    Close(CloseReason::kIoError);
    return;
  }
  active_->out.ReleaseIfEmpty(context_.pool);
  if (close_after_write_) {
    if (peer_closed_ && active_->in.empty()) {
      Close(CloseReason::kPeerClosed);
    } else {
      StartLingering();
    }
  }
}

void Connection::OnDelayTimer() {
  if (!closed()) {
    // Timers of one iteration run one after another: each response's lateness and latency
    // count the ones that ran before it.
    context_.loop.UpdateNow();
    Progress();
  }
}

void Connection::OnTimeoutTimer() {
  if (closed()) {
    return;
  }
  const ConfigSnapshot& config = context_.snapshots.current();
  const MonoTime current = now();
  MonoTime deadline = current + config.idle_timeout;
  switch (state_) {
    case State::kIdle:
      deadline = last_activity_ + config.idle_timeout;
      if (current >= deadline) {
        Close(CloseReason::kIdleTimeout);
        return;
      }
      break;
    case State::kReadingHead:
    case State::kReadingBody:
      if (body_held_) {
        deadline = current + config.idle_timeout;  // we stopped reading, not the client
        break;
      }
      deadline = state_ == State::kReadingHead ? active_->head_started_at + config.header_timeout
                                               : last_activity_ + config.idle_timeout;
      if (current >= deadline) {
        (state_ == State::kReadingHead ? context_.stats.rejected.header_timeout
                                       : context_.stats.rejected.body_timeout)
            .Add();
        AbandonCurrentRequest();
        if (closed()) {
          return;
        }
        EnqueueImmediate(408, ErrorBody(408), /*close=*/true, 0);
        Progress();
        return;
      }
      break;
    case State::kWriting:
      deadline = last_activity_ + config.idle_timeout;
      if (current >= deadline) {
        Close(CloseReason::kIoError);  // the client stopped reading its responses
        return;
      }
      break;
    case State::kLingering:
      Close(CloseReason::kNormal);
      return;
    case State::kWaiting:
    case State::kClosed:
      // Waiting on our own delay is not the client's fault: look again later.
      deadline = current + config.idle_timeout;
      break;
  }
  active_->timeout_timer.ArmAt(deadline);
}

void Connection::ScheduleTimeout(MonoTime deadline) {
  // One timer covers every deadline; it only moves earlier here, and OnTimeoutTimer works
  // out the deadline that applies when it fires (so keep-alive requests re-arm nothing).
  if (!active_->timeout_timer.armed() || deadline < active_->timeout_timer.deadline()) {
    active_->timeout_timer.ArmAt(deadline);
  }
}

void Connection::UpdateState() {
  if (state_ == State::kLingering || closed()) {
    return;
  }
  State next;
  if (write_blocked_) {
    next = State::kWriting;
  } else if (head_in_progress_) {
    next = State::kReadingHead;
  } else if (body_in_progress_) {
    next = State::kReadingBody;
  } else if (queue_depth() > 0) {
    next = State::kWaiting;
  } else {
    next = State::kIdle;
  }
  if (next == State::kIdle) {
    if (peer_closed_) {
      Close(CloseReason::kPeerClosed);
      return;
    }
    if (context_.draining) {
      Close(CloseReason::kDrain);
      return;
    }
    state_ = next;
    if (!Deactivate()) {
      // Something is still held (not expected): keep the activity and its timer.
      ScheduleTimeout(last_activity_ + context_.snapshots.current().idle_timeout);
      return;
    }
    if (context_.retiring) {
      context_.owner.HandOver(this);  // its worker is going away: move, never close
      return;
    }
    // CPU-local mode: the client may have moved to another CPU. Looked at every so many
    // requests, not each one: it costs a system call.
    if (context_.cpu >= 0 && requests_served_ % kCpuCheckInterval == 0 && requests_served_ != 0 &&
        context_.owner.MoveToIncomingCpu(this)) {
      return;
    }
    context_.idle.Add(*this);
    return;
  }
  state_ = next;
  // Nor does a busy connection keep an empty read buffer: thousands may wait on their delay
  // at once, and 16 KiB each would be most of the node's memory.
  active_->in.ReleaseIfEmpty(context_.pool);
  if (next == State::kReadingBody || next == State::kWriting) {
    // The client must go on sending or reading; only moves the timer earlier.
    ScheduleTimeout(last_activity_ + context_.snapshots.current().idle_timeout);
  }
}

void Connection::Activate() {
  if (active_ != nullptr) {
    return;
  }
  context_.idle.Remove(*this);
  active_ = context_.activities.Acquire(this);
  active_->arrived_at = 0;  // the previous owner's reads say nothing of this connection
}

bool Connection::Deactivate() {
  if (active_ == nullptr) {
    return true;
  }
  const ConnectionActivity& activity = *active_;
  if (!activity.in.empty() || !activity.out.empty() || queue_depth() > 0 ||
      activity.proxy != nullptr || head_in_progress_ || body_in_progress_) {
    return false;
  }
  ReturnActivity();
  return true;
}

void Connection::ReturnActivity() {
  ConnectionActivity& activity = *active_;
  // An idle connection keeps no buffer (a read that found nothing still took one).
  activity.in.ReleaseIfEmpty(context_.pool);
  activity.out.ReleaseIfEmpty(context_.pool);
  activity.queue.clear();
  activity.queue_head = 0;
  activity.delay_timer.Cancel();
  activity.timeout_timer.Cancel();
  context_.activities.Release(std::move(active_));
}

void Connection::OnIdleTimeout() { Close(CloseReason::kIdleTimeout); }

void Connection::StartLingering() {
  shutdown(fd_, SHUT_WR);
  state_ = State::kLingering;
  active_->delay_timer.Cancel();
  active_->timeout_timer.ArmAt(now() + kLingerTimeout);
  DiscardInput();
}

void Connection::AbandonCurrentRequest() {
  if (body_in_progress_ && active_->proxy != nullptr && active_->proxy->head_forwarded()) {
    // Part of the upstream's answer went out already: no other response can follow it.
    Close(CloseReason::kIoError);
    return;
  }
  head_in_progress_ = false;
  if (body_in_progress_) {
    body_in_progress_ = false;
    // Its response slot was queued at the head; it will never be ready, so release it.
    if (queue_depth() > 0 && active_->queue.back().proxied) {
      DropProxy();
      ReleaseEntry(active_->queue.back());
      active_->queue.pop_back();
    } else if (queue_depth() > 0 && !active_->queue.back().ready) {
      ReleaseEntry(active_->queue.back());
      active_->queue.pop_back();
    }
  }
  active_->in.Consume(active_->in.size());
}

void Connection::ReleaseEntry(PendingResponse& entry) {
  if (entry.delayed) {
    context_.stats.pending_timers.Add(-1);
    entry.delayed = false;
  }
  if (entry.holds_pending) {
    context_.admission->ReleasePending();
    entry.holds_pending = false;
  }
}

void Connection::ReleaseQueue() {
  for (size_t i = active_->queue_head; i < active_->queue.size(); ++i) {
    ReleaseEntry(active_->queue[i]);
  }
  active_->queue.clear();
  active_->queue_head = 0;
}

void Connection::ReleaseResources() {
  if (closed()) {
    return;
  }
  state_ = State::kClosed;
  context_.idle.Remove(*this);
  if (active_ != nullptr) {
    // The activity itself stays until deletion: callers up the stack may still look at it.
    active_->delay_timer.Cancel();
    active_->timeout_timer.Cancel();
    DropProxy();
    ReleaseQueue();
  }
  close(fd_);  // also removes it from the epoll set
  if (holds_slot_) {
    holds_slot_ = false;
    context_.admission->ReleaseConnection();
  }
  context_.stats.connections_active.Add(-1);
  context_.stats.connections_closed.Add();
}

void Connection::Close(CloseReason reason) {
  if (closed()) {
    return;
  }
  WorkerStats& stats = context_.stats;
  switch (reason) {
    case CloseReason::kPeerClosed:
      stats.closed_by_peer.Add();
      break;
    case CloseReason::kIoError:
      stats.closed_io_error.Add();
      break;
    case CloseReason::kIdleTimeout:
      stats.closed_idle_timeout.Add();
      break;
    case CloseReason::kDrain:
      stats.closed_drain.Add();
      break;
    case CloseReason::kNormal:
      break;
  }
  ReleaseResources();
  context_.owner.OnConnectionClosed(this);
}

}  // namespace proxynode
