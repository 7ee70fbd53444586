#include "dataplane/proxy/proxy_exchange.h"

#include <cerrno>

#include "dataplane/http/proxy_headers.h"

namespace proxynode {
namespace {

// Response bytes read ahead from the upstream before it is left to wait (TCP backpressure).
constexpr size_t kMaxBufferedResponse = 64 * 1024;
// Attempts for one request: the first plus retries of connect failures and stale
// keep-alive connections (only for requests without a body, which can be resent whole).
constexpr int kMaxAttempts = 3;

}  // namespace

ProxyExchange::ProxyExchange(ProxyContext& context)
    : context_(context),
      pools_(context.upstreams),
      request_(context.pool),
      forwarder_(context.pool, context.date),
      timer_(context.loop.timers(), [this] { OnTimer(); }),
      resume_timer_(context.loop.timers(), [this] {
        Forward();
        current_.client->OnProxyProgress();
      }) {}

void ProxyExchange::Start(Client& client, SnapshotRef snapshot, const RouteConfig& route,
                          RouteState& route_state, const RequestHead& head,
                          std::string_view head_block, std::string_view client_ip, Nanos delay) {
  current_.client = &client;
  snapshot_ = std::move(snapshot);
  current_.route = &route;
  current_.route_state = &route_state;
  current_.head_request = head.method == HttpMethod::kHead;
  current_.idempotent = head.method == HttpMethod::kGet || head.method == HttpMethod::kHead ||
                        head.method == HttpMethod::kOptions || head.method == HttpMethod::kTrace ||
                        head.method == HttpMethod::kPut || head.method == HttpMethod::kDelete;
  request_.Begin(head, head_block, client_ip, route.upstreams.front().address);
  forwarder_.Reset(current_.head_request);
  current_.start_at = now() + delay;
  if (delay > 0) {
    timer_.ArmAt(current_.start_at);
  } else {
    Begin();
  }
}

void ProxyExchange::Recycle() {
  // Ended (done, failed, aborted) means no upstream held and the timer cancelled: Finish,
  // Fail and Abandon see to it. Abandon is a no-op then, and ends one left running.
  Abandon();
  request_.Clear();
  forwarder_.Clear();
  snapshot_.Reset();
  current_ = PerRequest{};
}

ProxyExchange::~ProxyExchange() = default;

bool ProxyExchange::CanAcceptBody() const { return ended() || request_.CanAcceptBody(); }

void ProxyExchange::OnRequestBody(std::string_view data) {
  if (ended()) {
    return;  // the answer is decided; the rest of the body is read and dropped
  }
  request_.OnBody(data);
  if (current_.upstream != nullptr && !current_.upstream->connecting()) {
    SendRequest();
  }
}

void ProxyExchange::OnRequestComplete() {
  if (request_.complete() || ended()) {
    return;
  }
  request_.OnComplete();
  if (current_.upstream != nullptr && !current_.upstream->connecting()) {
    SendRequest();
  }
}

void ProxyExchange::Begin() {
  current_.state = State::kConnecting;
  current_.began_at = now();
  current_.total_deadline = current_.began_at + current_.route->total_timeout;
  Connect(/*avoid=*/nullptr, /*fresh=*/false);
}

void ProxyExchange::Connect(const UpstreamPool* avoid, bool fresh) {
  ++current_.attempts;
  const UpstreamTarget target =
      pools_.PickTarget(*current_.route, *current_.route_state, now(), avoid);
  current_.pool = target.pool;
  current_.upstream_address = target.address_text;
  current_.pool->stats().requests.Add();
  current_.pool->AddOutstanding(1);
  bool reused = false;
  current_.upstream = current_.pool->Acquire(target.address, fresh, &reused, target.tls_or_null());
  current_.reused = reused;
  if (current_.upstream == nullptr) {
    // Out of descriptors or memory here is this node's trouble, not the upstream's: no
    // ejection, no retry (it would fail the same way).
    const bool local = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    if (local) {
      current_.pool->stats().errors.broken.Add();
      Fail(ProxyFailure::kBroken);
      return;
    }
    OnUpstreamBroken(/*connect_failed=*/true);
    return;
  }
  current_.upstream->Lend(this);
  if (current_.upstream->connecting()) {
    current_.connect_deadline = now() + current_.route->connect_timeout;
    ArmTimer();
    return;
  }
  OnConnected();
}

void ProxyExchange::OnConnected() {
  current_.state = State::kExchanging;
  current_.connect_deadline = 0;
  if (!current_.reused) {
    current_.pool->OnConnectSucceeded();
  }
  SendRequest();
  ReceiveResponse();
}

void ProxyExchange::SendRequest() {
  request_.SendTo(*current_.upstream);
  if (request_.complete() && !request_.dropping() && !current_.request_sent) {
    current_.request_sent = true;
    if (!current_.got_first_byte) {
      current_.first_byte_deadline =
          now() + current_.route->first_byte_timeout;  // an upload is not waiting
      ArmTimer();
    }
  }
}

bool ProxyExchange::ReceiveResponse() {
  if (!current_.upstream->readable() || current_.upstream->in().size() >= kMaxBufferedResponse) {
    return true;
  }
  const IoStatus result = current_.upstream->Receive(kMaxBufferedResponse);
  if (!current_.upstream->in().empty() && !current_.got_first_byte) {
    current_.got_first_byte = true;
    current_.first_byte_deadline = 0;
    ArmTimer();
  }
  if (result != IoStatus::kOk && result != IoStatus::kWouldBlock && !current_.got_first_byte) {
    OnUpstreamBroken(/*connect_failed=*/false);
    return false;
  }
  // An EOF or reset after response bytes is judged by the parser: a close-delimited body
  // ends there, anything else was cut.
  return true;
}

void ProxyExchange::OnUpstreamEvent() {
  if (current_.upstream == nullptr) {
    return;
  }
  if (current_.state == State::kConnecting) {
    if (current_.upstream->connecting()) {
      return;
    }
    if (current_.upstream->connect_error() != 0) {
      OnUpstreamBroken(/*connect_failed=*/true);
    } else {
      OnConnected();
    }
  } else if (current_.state == State::kExchanging) {
    SendRequest();
    ReceiveResponse();
  }
  Forward();
  current_.client->OnProxyProgress();
}

bool ProxyExchange::CanRetry(bool connect_failed) const {
  if (current_.attempts >= kMaxAttempts || current_.got_first_byte) return false;
  // Nothing left after a failed connect: every byte is still held.
  if (connect_failed) return true;
  // A request that may have reached the upstream is resent only when doing it twice is
  // harmless (RFC 9110 9.2.2) and we still hold all of it.
  return current_.idempotent && !request_.has_body();
}

void ProxyExchange::OnUpstreamBroken(bool connect_failed) {
  if (connect_failed) {
    const char* tls_failure =
        current_.upstream != nullptr ? current_.upstream->tls_failure() : nullptr;
    if (tls_failure != nullptr) {
      current_.pool->stats().errors.tls.Add();
      current_.tls_failure = tls_failure;
    } else {
      current_.pool->stats().errors.connect_failed.Add();
    }
    current_.pool->OnConnectFailed(now());
  }
  // A reused connection that breaks before answering was most likely closed by the
  // upstream while idle: not the upstream's fault, and resent on a fresh one when safe.
  const bool stale = !connect_failed && current_.reused && !current_.got_first_byte;
  if ((connect_failed || stale) && CanRetry(connect_failed)) {
    Retry(connect_failed);
    return;
  }
  if (!connect_failed) {
    current_.pool->stats().errors.broken.Add();
  }
  Fail(connect_failed ? ProxyFailure::kConnectFailed : ProxyFailure::kBroken);
}

void ProxyExchange::Retry(bool connect_failed) {
  UpstreamPool* previous = current_.pool;
  ReleaseUpstream(/*reusable=*/false);
  if (!connect_failed) {  // the head may have left: send it again whole
    request_.Restart();
  }
  current_.state = State::kConnecting;
  Connect(connect_failed ? previous : nullptr, /*fresh=*/!connect_failed);
}

void ProxyExchange::Fail(ProxyFailure failure) {
  if (current_.pool != nullptr) {
    CountTimeout(current_.pool->stats().errors, failure);
  }
  current_.route_state->stats->errors.Add();
  ReleaseUpstream(/*reusable=*/false);
  timer_.Cancel();
  resume_timer_.Cancel();
  request_.Discard();
  if (forwarder_.head_forwarded()) {
    current_.state = State::kAborted;
    return;
  }
  current_.state = State::kFailed;
  current_.error_status = StatusFor(failure);
}

void ProxyExchange::Finish(bool reusable) {
  current_.state = State::kDone;
  timer_.Cancel();
  resume_timer_.Cancel();
  current_.upstream_time = now() - current_.began_at;
  current_.pool->stats().latency.Record(current_.upstream_time);
  ReleaseUpstream(reusable);
}

std::string_view ProxyExchange::upstream_address() const {
  return current_.upstream_address != nullptr ? std::string_view(*current_.upstream_address) : "";
}

void ProxyExchange::ReleaseUpstream(bool reusable) {
  if (current_.pool == nullptr) {
    return;
  }
  current_.pool->AddOutstanding(-1);
  if (current_.upstream != nullptr) {
    current_.pool->Release(current_.upstream, reusable);
    current_.upstream = nullptr;
  }
  current_.pool = nullptr;
}

void ProxyExchange::Abandon() {
  if (ended()) {
    return;
  }
  current_.state = State::kAborted;
  timer_.Cancel();
  resume_timer_.Cancel();
  ReleaseUpstream(/*reusable=*/false);
}

bool ProxyExchange::Cancel() {
  if (ended() || forwarder_.head_forwarded()) {
    return false;
  }
  if (current_.pool != nullptr) {  // null while the route's delay runs: nothing was sent
    current_.pool->stats().cancelled.Add();
  }
  Abandon();
  return true;
}

void ProxyExchange::StreamInto(Buffer& out, const ClientSide& client) {
  forwarder_.set_client(client);
  if (!forwarder_.attached()) {
    forwarder_.Attach(out);
    Forward();
  }
}

void ProxyExchange::OnOutputDrained() {
  if (current_.waiting_for_drain && !resume_timer_.armed()) {
    resume_timer_.ArmAt(now());  // from the loop, not inside the client's write
  }
}

ProxyExchange::Outcome ProxyExchange::outcome() const {
  switch (current_.state) {
    case State::kDone:
      return Outcome::kDone;
    case State::kFailed:
      return Outcome::kFailed;
    case State::kAborted:
      return Outcome::kAborted;
    case State::kDelaying:
    case State::kConnecting:
    case State::kExchanging:
      break;
  }
  return Outcome::kPending;
}

void ProxyExchange::Forward() {
  while (current_.state == State::kExchanging && forwarder_.attached()) {
    current_.waiting_for_drain = false;
    Buffer& in = current_.upstream->in();
    switch (forwarder_.Pump(in, kHighWatermark)) {
      case ResponseForwarder::Result::kFull:
        current_.waiting_for_drain = true;  // the client drains first; the upstream waits
        return;
      case ResponseForwarder::Result::kDone:
        Finish(forwarder_.keep_alive() && current_.request_sent && in.empty() &&
               !current_.upstream->peer_closed());
        return;
      case ResponseForwarder::Result::kMalformed:
        current_.pool->stats().errors.broken.Add();
        Fail(ProxyFailure::kBroken);
        return;
      case ResponseForwarder::Result::kNeedMore:
        break;
    }
    const size_t buffered = in.size();
    if (!ReceiveResponse()) {
      continue;  // broken: retried or failed, the state says which
    }
    if (current_.upstream->in().size() > buffered) {
      continue;
    }
    if (current_.upstream->peer_closed() && !current_.upstream->readable()) {
      if (forwarder_.EndAtClose() == ResponseForwarder::Result::kDone) {
        Finish(/*reusable=*/false);
      } else {
        current_.pool->stats().errors.broken.Add();
        Fail(ProxyFailure::kBroken);
      }
    }
    return;
  }
}

void ProxyExchange::OnTimer() {
  const MonoTime current = now();
  if (current_.state == State::kDelaying) {
    if (current >= current_.start_at) {
      Begin();
      current_.client->OnProxyProgress();
    }
    return;
  }
  if (current_.state != State::kConnecting && current_.state != State::kExchanging) {
    return;
  }
  if (current_.total_deadline != 0 && current >= current_.total_deadline) {
    Fail(ProxyFailure::kTotalTimeout);
  } else if (current_.connect_deadline != 0 && current >= current_.connect_deadline) {
    current_.pool->OnConnectFailed(current);
    Fail(ProxyFailure::kConnectTimeout);
  } else if (current_.first_byte_deadline != 0 && current >= current_.first_byte_deadline) {
    Fail(ProxyFailure::kFirstByteTimeout);
  } else {
    ArmTimer();
    return;
  }
  current_.client->OnProxyProgress();
}

void ProxyExchange::ArmTimer() {
  MonoTime next = current_.total_deadline;
  for (MonoTime deadline : {current_.connect_deadline, current_.first_byte_deadline}) {
    if (deadline != 0 && (next == 0 || deadline < next)) next = deadline;
  }
  if (next != 0 && (!timer_.armed() || timer_.deadline() != next)) {
    timer_.ArmAt(next);
  }
}

}  // namespace proxynode
