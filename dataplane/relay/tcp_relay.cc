#include "dataplane/relay/tcp_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "dataplane/core/socket_ops.h"

namespace proxynode {
namespace {

constexpr MonoTime kNever = std::numeric_limits<MonoTime>::max();

}  // namespace

TcpRelay::TcpRelay(RelayContext& context, uint64_t id, int client_fd, RelayProxy proxy)
    : context_(context),
      id_(id),
      proxy_(std::move(proxy)),
      accepted_at_(context.loop.now()),
      client_(*this, client_fd, /*connecting=*/false),
      timer_(context.loop.timers(), [this] { OnTimer(); }) {
  up_.from = &client_;
  down_.to = &client_;
  up_.bytes_counter = &proxy_.stats->bytes_upstream;
  down_.bytes_counter = &proxy_.stats->bytes_downstream;
  proxy_.stats->connections.Add();
  proxy_.stats->active.Add(1);
}

TcpRelay::TcpRelay(RelayContext& context, const RelayHandover& handover, RelayProxy proxy)
    : context_(context),
      id_(handover.id),
      proxy_(std::move(proxy)),
      accepted_at_(handover.accepted_at),
      client_(*this, handover.client_fd, /*connecting=*/false),
      timer_(context.loop.timers(), [this] { OnTimer(); }) {
  upstream_.emplace(*this, handover.upstream_fd, /*connecting=*/false);
  up_.from = &client_;
  up_.to = &*upstream_;
  down_.from = &*upstream_;
  down_.to = &client_;
  up_.bytes_counter = &proxy_.stats->bytes_upstream;
  down_.bytes_counter = &proxy_.stats->bytes_downstream;
  up_.forwarded = handover.bytes_up;
  down_.forwarded = handover.bytes_down;
  connected_ = true;
  adopted_ = true;
  proxy_.stats->active.Add(1);
  // The same toxics keep the same draws; others are drawn here, as a change would.
  if (handover.config != nullptr && handover.config->toxics == proxy_.config->toxics) {
    hit_mask_ = handover.hit_mask;
    ApplyEffects(up_, ToxicStream::kUpstream);
    ApplyEffects(down_, ToxicStream::kDownstream);
  } else {
    DrawToxics();
  }
}

TcpRelay::~TcpRelay() {
  if (!closed_) {
    // Destroyed with its worker: close without telling the owner, which is going away.
    closed_ = true;
    client_.transport.Close();
    if (upstream_) upstream_->transport.Close();
    for (Flow* flow : {&up_, &down_}) {
      context_.pipes.Drop(flow->pipe);
      flow->copied.Consume(flow->copied.size());
      flow->copied.ReleaseIfEmpty(context_.pool);
      if (flow->held) flow->held->queue.Clear(context_.pool);
    }
    proxy_.stats->active.Add(-1);
  }
}

void TcpRelay::Start() {
  if (adopted_) {
    client_.transport.Register(context_.loop, &client_);
    upstream_->transport.Register(context_.loop, &*upstream_);
    if (up_.effects.down || down_.effects.down) {
      proxy_.stats->refused.Add();
      Finish(Ending::kNormal);
      return;
    }
    Progress();  // reads what arrived during the move
    return;
  }
  DrawToxics();
  if (up_.effects.down || down_.effects.down) {
    proxy_.stats->refused.Add();
    Finish(Ending::kNormal);
    return;
  }
  const SocketAddress& address = proxy_.config->upstream_resolved;
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    proxy_.stats->connect_failures.Add();
    Finish(Ending::kNormal);
    return;
  }
  SetTcpNoDelay(fd);
  bool connecting = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      proxy_.stats->connect_failures.Add();
      Finish(Ending::kNormal);
      return;
    }
    connecting = true;
  }
  upstream_.emplace(*this, fd, connecting);
  up_.to = &*upstream_;
  down_.from = &*upstream_;
  client_.transport.Register(context_.loop, &client_);
  upstream_->transport.Register(context_.loop, &*upstream_);
  connected_ = !connecting;
  if (connecting) connect_deadline_ = now() + proxy_.config->connect_timeout;
  Progress();
}

void TcpRelay::ApplyToxics(RelayProxy proxy) {
  const bool same_toxics = proxy.config->toxics == proxy_.config->toxics;
  proxy_ = std::move(proxy);
  if (same_toxics) {
    // The effects point into the old snapshot's toxics: take the new ones, same draws.
    ApplyEffects(up_, ToxicStream::kUpstream);
    ApplyEffects(down_, ToxicStream::kDownstream);
  } else {
    DrawToxics();
  }
  if (up_.effects.down || down_.effects.down) {
    proxy_.stats->refused.Add();
    Finish(Ending::kNormal);
    return;
  }
  // New toxics move bytes on the loop's next turn, not here: the worker takes a config for
  // all its relays in one step and acknowledges it without doing their I/O first.
  if (!same_toxics) timer_.ArmAt(now());
}

void TcpRelay::Abort() { Finish(Ending::kNormal); }

bool TcpRelay::AtRest() const {
  if (closed_ || !connected_) return false;
  for (const Flow* flow : {&up_, &down_}) {
    if (flow->source_ended || flow->sink_shut || HasPassedBytes(*flow) ||
        (flow->held && flow->held->mark_count > 0) || flow->drop_until != 0 ||
        flow->reset_at != 0 || flow->close_at != 0) {
      return false;
    }
  }
  return true;
}

RelayHandover TcpRelay::Detach() {
  RelayHandover handover;
  handover.client_fd = client_.transport.fd();
  handover.upstream_fd = upstream_->transport.fd();
  handover.id = id_;
  handover.accepted_at = accepted_at_;
  handover.bytes_up = up_.forwarded;
  handover.bytes_down = down_.forwarded;
  handover.snapshot = proxy_.snapshot;
  handover.config = proxy_.config;
  handover.hit_mask = hit_mask_;
  client_.transport.Unregister(context_.loop);
  upstream_->transport.Unregister(context_.loop);
  closed_ = true;
  handed_over_ = true;
  timer_.Cancel();
  for (Flow* flow : {&up_, &down_}) {
    ReleasePassed(*flow);  // nothing in flight at rest: gives back an empty pipe or block
    if (flow->held) flow->held->queue.Clear(context_.pool);
  }
  proxy_.stats->active.Add(-1);
  context_.owner.OnRelayClosed(this);
  return handover;
}

void TcpRelay::DrawToxics() {
  hit_mask_ = 0;
  const std::vector<ToxicConfig>& toxics = proxy_.config->toxics;
  for (size_t i = 0; i < toxics.size(); ++i) {
    // Unit() is in (0, 1): toxicity 1 always hits, 0 never does.
    const bool hit = toxics[i].toxicity > 0 && context_.random.Unit() < toxics[i].toxicity;
    if (hit) hit_mask_ |= uint32_t{1} << i;
    if (proxy_.toxic_stats != nullptr && i < proxy_.toxic_stats->size()) {
      ToxicStats& stats = *(*proxy_.toxic_stats)[i];
      (hit ? stats.applied : stats.skipped).Add();
    }
  }
  ApplyEffects(up_, ToxicStream::kUpstream);
  ApplyEffects(down_, ToxicStream::kDownstream);
}

void TcpRelay::ApplyEffects(Flow& flow, ToxicStream stream) {
  const FlowEffects old = flow.effects;
  flow.effects = SummarizeEffects(*proxy_.config, hit_mask_, stream, context_.pacers);
  const FlowEffects& effects = flow.effects;
  const MonoTime t = now();
  // The held state is taken when the first bytes come (ReadHeld): an idle relay has none.
  if (flow.held) {
    Held& held = *flow.held;
    // What the old toxics held back leaves now, in order.
    for (size_t i = 0; i < held.mark_count; ++i) {
      Mark& mark = held.marks[(held.first_mark + i) % kMaxHeldChunks];
      mark.ready_at = std::min(mark.ready_at, t);
    }
    if (effects.rate != 0 && effects.rate != old.rate) held.pacer.Start(effects.rate, t);
    if (effects.slicer == nullptr) {
      held.slice_left = 0;
      held.next_slice_at = 0;
    }
  }
  if (effects.timeout == nullptr) {
    flow.drop_until = 0;
  } else if (old.timeout == nullptr) {
    flow.drop_until = effects.timeout->timeout > 0 ? t + effects.timeout->timeout : 0;
  }
  if (effects.reset_peer == nullptr) flow.reset_at = 0;
  if (effects.limit_bytes != old.limit_bytes) flow.limit_from = flow.forwarded;
  if (effects.slow_close < 0) flow.close_at = 0;
  if (!effects.touches_data() && flow.held && flow.held->mark_count == 0) {
    flow.held->queue.Clear(context_.pool);
    flow.held.reset();
  }
}

void TcpRelay::OnSideEvent(Side& side, uint32_t events) {
  const Readiness readiness = side.transport.OnEvents(events);
  if (&side != &client_ && readiness.connect_ended) {
    OnConnected(readiness.connect_error);
    if (closed_) return;
  }
  Progress();
}

void TcpRelay::OnConnected(int error) {
  if (error != 0) {
    proxy_.stats->connect_failures.Add();
    Finish(Ending::kNormal);
    return;
  }
  connected_ = true;
  connect_deadline_ = 0;
}

void TcpRelay::OnTimer() {
  if (!connected_ && connect_deadline_ != 0 && now() >= connect_deadline_) {
    proxy_.stats->connect_failures.Add();
    Finish(Ending::kNormal);
    return;
  }
  Progress();
}

void TcpRelay::Progress() {
  if (closed_) return;
  if (!connected_) {
    timer_.ArmAt(connect_deadline_);
    return;
  }
  wake_at_ = kNever;
  if (!PumpFlow(up_) || !PumpFlow(down_)) return;
  if (up_.sink_shut && down_.sink_shut) {
    Finish(Ending::kNormal);
    return;
  }
  if (wake_at_ != kNever) {
    timer_.ArmAt(wake_at_);
  } else {
    timer_.Cancel();
    if (AtRest()) context_.owner.OnRelayAtRest(this);  // may detach it
  }
}

bool TcpRelay::PumpFlow(Flow& flow) {
  const MonoTime t = now();
  if (flow.reset_at != 0 && t >= flow.reset_at) {
    proxy_.stats->resets_injected.Add();
    Finish(Ending::kReset);
    return false;
  }
  if (flow.drop_until != 0 && t >= flow.drop_until) {
    proxy_.stats->timeouts_injected.Add();
    Finish(Ending::kNormal);
    return false;
  }
  const bool held = flow.effects.touches_data() || (flow.held && flow.held->mark_count > 0);
  if (held && !HasPassedBytes(flow)) {
    if (!PumpHeld(flow)) return false;
  } else {
    if (!PassFlow(flow)) return false;  // also sends what passed before the toxics came
    // Those bytes are out: what waits in the source brings no new edge, so hold it now.
    if (held && !HasPassedBytes(flow) && !PumpHeld(flow)) return false;
  }
  if (flow.reset_at != 0) Wake(flow.reset_at);
  if (flow.drop_until != 0) Wake(flow.drop_until);
  return EndFlow(flow);
}

bool TcpRelay::EndFlow(Flow& flow) {
  if (!flow.source_ended || flow.sink_shut) return true;
  if (HasPassedBytes(flow) || (flow.held && flow.held->mark_count > 0)) return true;
  if (flow.effects.reset_peer != nullptr) {
    // The reset comes instead of the EOF (which counts as data: also one read before the
    // toxic came).
    if (flow.reset_at == 0) flow.reset_at = now() + flow.effects.reset_peer->timeout;
    Wake(flow.reset_at);
    return true;
  }
  if (flow.effects.slow_close >= 0) {
    if (flow.close_at == 0) flow.close_at = now() + flow.effects.slow_close;
    if (now() < flow.close_at) {
      Wake(flow.close_at);
      return true;
    }
  }
  flow.sink_shut = true;
  // The other direction ended first: the close that follows sends this FIN (both sockets
  // were read to their EOF, so the close is no reset), and a shutdown would be one more call.
  const Flow& other = &flow == &up_ ? down_ : up_;
  if (!other.sink_shut) flow.to->transport.ShutdownWrite();
  return true;
}

void TcpRelay::Account(Flow& flow, size_t bytes, bool spliced) {
  if (bytes == 0) return;
  flow.forwarded += bytes;
  flow.bytes_counter->Add(bytes);
  if (spliced) proxy_.stats->bytes_spliced.Add(bytes);
}

void TcpRelay::Finish(Ending ending) {
  if (closed_) return;
  closed_ = true;
  timer_.Cancel();
  for (Side* side : {&client_, upstream_ ? &*upstream_ : nullptr}) {
    if (side == nullptr) continue;
    if (ending == Ending::kReset) {
      side->transport.Reset();
    } else {
      side->transport.Close();
    }
  }
  for (Flow* flow : {&up_, &down_}) {
    ReleasePassed(*flow);
    if (flow->held) flow->held->queue.Clear(context_.pool);
  }
  proxy_.stats->active.Add(-1);
  context_.owner.OnRelayClosed(this);
}

RelayInfo TcpRelay::Describe() const {
  RelayInfo info;
  info.id = id_;
  info.peer = closed_ ? "" : PeerAddress(client_.transport.fd()).ToString();
  info.proxy = proxy_.config->name;
  info.upstream = proxy_.config->upstream;
  info.accepted_at = accepted_at_;
  info.state = !connected_                          ? "connecting"
               : (up_.sink_shut || down_.sink_shut) ? "closing"
                                                    : "relaying";
  info.bytes_in = up_.forwarded;
  info.bytes_out = down_.forwarded;
  return info;
}

}  // namespace proxynode
