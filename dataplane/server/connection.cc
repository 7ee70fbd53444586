#include "dataplane/server/connection.h"

#include <utility>

#include "dataplane/core/socket_ops.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/http2_session.h"
#include "dataplane/server/session_pool.h"

namespace proxynode {

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
    : holds_slot_(holds_slot),
      context_(context),
      id_(id),
      accepted_at_(context.loop.now()),
      transport_(fd) {
  IdleListEntry::last_activity = context.loop.now();
}

Connection::Connection(WorkerContext& context, uint64_t id, const ConnectionHandover& handover)
    : Connection(context, handover.fd, id, handover.holds_slot) {
  accepted_at_ = handover.accepted_at;
  requests_served_ = handover.requests_served;
  bytes_in_ = handover.bytes_in;
  bytes_out_ = handover.bytes_out;
  paced_rate_ = handover.paced_rate;
  if (handover.tls != nullptr) {
    tls_ = std::make_unique<Tls>();
    tls_->channel = TlsChannel::Adopt(handover.tls, transport_);
  }
}

void Connection::UseTls(SSL* ssl) {
  tls_ = std::make_unique<Tls>();
  tls_->channel = std::make_unique<TlsChannel>(ssl, transport_);
  tls_->handshake_deadline.emplace(context_.loop.timers(), [this] { OnHandshakeTimeout(); });
  tls_->handshake_deadline->ArmAt(accepted_at_ + context_.snapshots.current().header_timeout);
}

void Connection::AdvanceHandshake() {
  switch (tls_->channel->Advance()) {
    case TlsChannel::Handshake::kWantIo:
      return;  // the next readiness goes on; the deadline bounds it
    case TlsChannel::Handshake::kFailed:
      context_.stats.rejected.tls_handshake.Add();
      Close(CloseReason::kIoError);
      return;
    case TlsChannel::Handshake::kDone:
      break;
  }
  tls_->handshake_deadline.reset();
  context_.stats.tls_handshakes.Add();
  if (tls_->channel->resumed()) {
    context_.stats.tls_resumptions.Add();
  }
  IdleListEntry::last_activity = now();
  Activate();
  session_->Progress(/*writable_again=*/false);
}

void Connection::OnHandshakeTimeout() {
  if (!closed()) {
    context_.stats.rejected.tls_handshake.Add();
    Close(CloseReason::kIdleTimeout);
  }
}

Connection::~Connection() {
  // Normally closed already; a worker shutting down destroys open ones directly.
  if (!closed()) {
    context_.stats.closed_drain.Add();
  }
  ReleaseResources();
  if (session_ != nullptr) {
    ReturnSession();  // whatever was left unread, unsent or owed goes
  }
}

Connection::State Connection::state() const {
  switch (lifecycle_) {
    case Lifecycle::kClosed:
      return State::kClosed;
    case Lifecycle::kLingering:
      return State::kLingering;
    case Lifecycle::kOpen:
      break;
  }
  if (session_ == nullptr) {
    return State::kIdle;
  }
  if (transport_.write_blocked()) {
    return State::kWriting;
  }
  switch (session_->phase()) {
    case SessionPhase::kReadingHead:
      return State::kReadingHead;
    case SessionPhase::kReadingBody:
      return State::kReadingBody;
    case SessionPhase::kWaiting:
      return State::kWaiting;
    case SessionPhase::kAtRest:
      break;
  }
  return State::kIdle;
}

void Connection::Start() {
  context_.stats.connections_active.Add(1);
  transport_.Register(context_.loop, this);  // bytes may have arrived before registration
  if (tls_ != nullptr && !tls_->channel->established()) {
    AdvanceHandshake();
    return;
  }
  Activate();
  session_->Progress(/*writable_again=*/false);
}

void Connection::StartRejected(int status, uint32_t retry_after_seconds) {
  context_.stats.connections_active.Add(1);
  transport_.Register(context_.loop, this);
  Activate();
  session_->Reject(status, retry_after_seconds);
}

void Connection::BeginDrain() {
  if (idle() || handshaking()) {
    Close(CloseReason::kDrain);  // nothing asked yet
  } else if (lifecycle_ == Lifecycle::kOpen && session_ != nullptr) {
    session_->BeginDrain();
  }
}

void Connection::BeginRetire() {
  if (lifecycle_ == Lifecycle::kOpen && session_ != nullptr) {
    session_->BeginDrain();
  }
}

void Connection::Abort() { Close(CloseReason::kDrain); }

void Connection::OnConfigChanged() {
  // Idle connections have no timer of their own: IdleConnections follows the change.
  if (lifecycle_ == Lifecycle::kOpen && session_ != nullptr) {
    session_->OnConfigChanged();
  }
}

ConnectionHandover Connection::Detach() {
  ConnectionHandover handover;
  handover.fd = transport_.fd();
  handover.id = id_;
  handover.holds_slot = holds_slot_;
  handover.accepted_at = accepted_at_;
  handover.requests_served = requests_served_;
  handover.bytes_in = bytes_in_;
  handover.bytes_out = bytes_out_;
  handover.paced_rate = paced_rate_;
  if (tls_ != nullptr) {
    handover.tls = tls_->channel->Release();  // idle() held: the handshake is done
  }
  transport_.Unregister(context_.loop);
  context_.idle.Remove(*this);
  holds_slot_ = false;  // the slot travels with the socket
  lifecycle_ = Lifecycle::kClosed;
  context_.stats.connections_active.Add(-1);
  context_.stats.connections_handed_out.Add();
  context_.owner.OnConnectionClosed(this);
  return handover;
}

std::string_view Connection::tls_version() const {
  return tls_ != nullptr && tls_->channel->established() ? tls_->channel->version()
                                                         : std::string_view();
}

ConnectionInfo Connection::Describe(int worker) const {
  ConnectionInfo info;
  info.id = id_;
  info.worker = worker;
  info.peer = peer().ToString();
  info.accepted_at = accepted_at_;
  info.requests_served = requests_served_;
  info.state = StateName(state());
  info.bytes_in = bytes_in_;
  info.bytes_out = bytes_out_;
  const bool http2 = session_ != nullptr && session_->protocol() == SessionProtocol::kHttp2;
  if (tls_ != nullptr) {
    info.protocol = http2 ? std::string_view("h2") : std::string_view("http/1.1");
    info.tls_version = tls_->channel->established() ? tls_->channel->version() : "handshake";
  } else {
    info.protocol = http2 ? std::string_view("h2c") : std::string_view("http/1.1");
  }
  return info;
}

void Connection::ExpireIdle(IdleListEntry& entry) {
  static_cast<Connection&>(entry).Close(CloseReason::kIdleTimeout);
}

void Connection::OnFileEvent(uint32_t events) {
  if (closed()) {
    return;  // a stale event from this iteration's batch
  }
  if (lifecycle_ == Lifecycle::kLingering) {
    DiscardInput();
    return;
  }
  constexpr uint32_t kInputEvents = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  if (session_ == nullptr && (events & kInputEvents) == 0) {
    return;  // idle: an EPOLLOUT edge (the last response's bytes acknowledged) needs nothing
  }
  const Readiness readiness = transport_.OnEvents(events);
  if (tls_ != nullptr && !tls_->channel->established()) {
    AdvanceHandshake();
    return;
  }
  Activate();
  session_->Progress(readiness.writable_again);
}

SessionHost::Input Connection::ReadInput(Buffer& in, size_t limit) {
  const ReadResult result = tls_ != nullptr ? tls_->channel->Read(in, context_.pool, limit)
                                            : transport_.Read(in, context_.pool, limit);
  Input input;
  input.bytes = result.bytes;
  if (result.bytes > 0) {
    context_.stats.bytes_in.Add(result.bytes);
    bytes_in_ += result.bytes;
    if (transport_.arrival_stamps()) {
      // Read the clock again: this read may come late in a long batch of events, and a delay
      // must never start before its request arrived. The realtime clock first: a pause
      // between the two reads then moves the arrival later, never earlier (a response must
      // not leave before its delay; seen 0.5 ms early under ASan the other way round). No
      // stamp: these bytes came before stamping began, so count from now.
      const int64_t realtime_now = RealtimeNanos();
      const MonoTime current = context_.loop.UpdateNow();
      input.arrived_at = result.arrived_realtime == 0
                             ? current
                             : MonotonicFromRealtime(result.arrived_realtime, realtime_now, current,
                                                     kMaxArrivalAge);
    }
    IdleListEntry::last_activity = now();
  }
  if (result.status == IoStatus::kError) {
    Close(CloseReason::kIoError);
  }
  return input;
}

void Connection::WriteOutput(Buffer& out, size_t limit) {
  const WriteResult written =
      tls_ != nullptr ? tls_->channel->Write(out, limit) : transport_.Write(out, limit);
  if (written.bytes > 0) {
    context_.stats.bytes_out.Add(written.bytes);
    bytes_out_ += written.bytes;
    IdleListEntry::last_activity = now();
  }
  if (written.status == IoStatus::kError) {
    Close(CloseReason::kIoError);
  }
}

bool Connection::EndOutput(bool input_left, bool silent) {
  if (input_ended() && !input_left) {
    Close(CloseReason::kPeerClosed);
    return false;
  }
  if (!silent) {
    if (tls_ != nullptr) {
      tls_->channel->SendCloseNotify();  // TLS's own end of output, before TCP's
    }
    transport_.ShutdownWrite();
  }
  lifecycle_ = Lifecycle::kLingering;
  session_->ArmLingerTimeout(now() +
                             (silent ? context_.snapshots.current().idle_timeout : kLingerTimeout));
  DiscardInput();
  return true;
}

void Connection::DiscardInput() {
  bool ended = false;
  const size_t discarded = transport_.DiscardInput(&ended);
  context_.stats.bytes_in.Add(discarded);
  if (ended) {
    Close(CloseReason::kNormal);  // EOF or error: the client has what it needs
  }
}

void Connection::OnSessionAtRest() {
  ReturnSession();
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
}

void Connection::SwitchToHttp2(std::string_view input, const Http2Upgrade* upgrade) {
  std::unique_ptr<Http2Session> http2 = context_.sessions.AcquireHttp2(&context_, this);
  Http2Session& next = *http2;
  std::unique_ptr<Session> previous = std::exchange(session_, std::move(http2));
  // `input` is a view into the HTTP/1 session's buffer: Start copies it before that session
  // is cleared and given back.
  const bool started = next.Start(input, upgrade);
  previous->Clear();
  context_.sessions.Release(std::move(previous));
  if (started && !closed()) {
    next.Progress(/*writable_again=*/false);
  }
}

void Connection::Activate() {
  if (session_ != nullptr) {
    return;
  }
  context_.idle.Remove(*this);
  session_ = context_.sessions.Acquire(&context_, this);
}

void Connection::ReturnSession() {
  session_->Clear();
  context_.sessions.Release(std::move(session_));
}

void Connection::ReleaseResources() {
  if (closed()) {
    return;
  }
  lifecycle_ = Lifecycle::kClosed;
  context_.idle.Remove(*this);
  if (session_ != nullptr) {
    // The session itself stays until deletion: callers up the stack may still use it.
    session_->Abandon();
  }
  if (tls_ != nullptr) {
    tls_->handshake_deadline.reset();
  }
  transport_.Close();  // also removes it from the epoll set
  if (holds_slot_) {
    holds_slot_ = false;
    context_.serving->admission.ReleaseConnection();
  }
  context_.stats.connections_active.Add(-1);
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
      stats.closed_local.Add();
      break;
    case CloseReason::kFaultReset:
      stats.closed_fault_reset.Add();
      break;
  }
  if (reason == CloseReason::kFaultReset) {
    transport_.Reset();  // before ReleaseResources closes it with a FIN
  } else if (tls_ != nullptr && reason != CloseReason::kIoError) {
    tls_->channel->SendCloseNotify();  // a clean end: the client can tell it from a cut
  }
  ReleaseResources();
  context_.owner.OnConnectionClosed(this);
}

}  // namespace proxynode
