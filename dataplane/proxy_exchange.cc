#include "dataplane/proxy_exchange.h"

#include <cerrno>

#include "dataplane/proxy_headers.h"

namespace proxynode {
namespace {

// Request body buffered toward the upstream before the client is read no further.
constexpr size_t kMaxBufferedRequest = 64 * 1024;
// Response bytes read ahead from the upstream before it is left to wait (TCP backpressure).
constexpr size_t kMaxBufferedResponse = 64 * 1024;
// Attempts for one request: the first plus retries of connect failures and stale
// keep-alive connections (only for requests without a body, which can be resent whole).
constexpr int kMaxAttempts = 3;

// Strings grown past this by an unusual request are not kept for the next one.
constexpr size_t kMaxKeptStringCapacity = 8 * 1024;

void ClearKeepingCapacity(std::string& text) {
  if (text.capacity() > kMaxKeptStringCapacity) {
    std::string().swap(text);
  } else {
    text.clear();
  }
}

}  // namespace

ProxyExchange::ProxyExchange(WorkerContext& context)
    : context_(context),
      pools_(*context.upstreams),
      timer_(context.loop.timers(), [this] { OnTimer(); }) {}

void ProxyExchange::Start(Client& client, SnapshotRef snapshot, const RouteConfig& route,
                          RouteState& route_state, const RequestHead& head,
                          std::string_view head_block, std::string_view client_ip, Nanos delay) {
  client_ = &client;
  snapshot_ = std::move(snapshot);
  route_ = &route;
  route_state_ = &route_state;
  has_body_ = head.chunked || head.content_length > 0;
  chunked_upstream_ = head.chunked;
  head_request_ = head.method == HttpMethod::kHead;
  idempotent_ = head.method == HttpMethod::kGet || head.method == HttpMethod::kHead ||
                head.method == HttpMethod::kOptions || head.method == HttpMethod::kTrace ||
                head.method == HttpMethod::kPut || head.method == HttpMethod::kDelete;
  ProxiedRequest request;
  request.client_head = head_block;
  request.client_ip = client_ip;
  request.upstream_address = route.upstreams.front().address;
  if (head.chunked) {
    request.framing = BodyFraming::kChunked;
  } else if (head.content_length > 0 || head.method == HttpMethod::kPost ||
             head.method == HttpMethod::kPut || head.method == HttpMethod::kPatch) {
    // A body-carrying method says its (possibly empty) length, as upstreams may require.
    request.framing = BodyFraming::kContentLength;
    request.content_length = head.content_length;
  }
  AppendUpstreamRequestHead(upstream_head_, request);
  request_out_.Append(context_.pool, upstream_head_);
  parser_.Reset(head_request_);
  if (!has_body_) {
    request_complete_ = true;
  }
  start_at_ = now() + delay;
  if (delay > 0) {
    timer_.ArmAt(start_at_);
  } else {
    Begin();
  }
}

void ProxyExchange::Recycle() {
  // Ended (done, failed, aborted) means no upstream held and the timer cancelled: Finish,
  // Fail and Abandon see to it. Abandon is a no-op then, and ends one left running.
  Abandon();
  request_out_.Consume(request_out_.size());
  request_out_.ReleaseIfEmpty(context_.pool);
  ClearKeepingCapacity(upstream_head_);
  ClearKeepingCapacity(scratch_);
  client_ = nullptr;
  snapshot_.Reset();
  route_ = nullptr;
  route_state_ = nullptr;
  state_ = State::kDelaying;
  start_at_ = 0;
  began_at_ = 0;
  connect_deadline_ = 0;
  first_byte_deadline_ = 0;
  total_deadline_ = 0;
  attempts_ = 0;
  error_status_ = 0;
  response_status_ = 0;
  has_body_ = false;
  chunked_upstream_ = false;
  head_request_ = false;
  idempotent_ = false;
  reused_ = false;
  request_complete_ = false;
  request_sent_ = false;
  send_failed_ = false;
  got_first_byte_ = false;
  head_forwarded_ = false;
  chunked_to_client_ = false;
  close_after_ = false;
}

ProxyExchange::~ProxyExchange() {
  // Normally recycled already; the pool holding it is destroyed when its worker stops.
  request_out_.Consume(request_out_.size());
  request_out_.ReleaseIfEmpty(context_.pool);
}

bool ProxyExchange::CanAcceptBody() const {
  return state_ == State::kFailed || state_ == State::kDone || state_ == State::kAborted ||
         send_failed_ || request_out_.size() < kMaxBufferedRequest;
}

void ProxyExchange::OnRequestBody(std::string_view data) {
  if (state_ == State::kFailed || state_ == State::kDone || state_ == State::kAborted) {
    return;  // the answer is decided; the rest of the body is read and dropped
  }
  if (send_failed_) {
    return;  // the upstream stopped reading: its answer decides
  }
  if (chunked_upstream_) {
    AppendChunked(data);
  } else {
    request_out_.Append(context_.pool, data);
  }
  if (upstream_ != nullptr && !upstream_->connecting()) {
    SendRequest();
  }
}

void ProxyExchange::OnRequestComplete() {
  if (request_complete_) {
    return;
  }
  request_complete_ = true;
  if (state_ == State::kFailed || state_ == State::kDone || state_ == State::kAborted) {
    return;
  }
  if (chunked_upstream_) {
    scratch_.clear();
    AppendLastChunk(scratch_);
    request_out_.Append(context_.pool, scratch_);
  }
  if (upstream_ != nullptr && !upstream_->connecting()) {
    SendRequest();
  }
}

void ProxyExchange::AppendChunked(std::string_view data) {
  scratch_.clear();
  AppendChunk(scratch_, data);
  request_out_.Append(context_.pool, scratch_);
}

void ProxyExchange::Begin() {
  state_ = State::kConnecting;
  began_at_ = now();
  total_deadline_ = began_at_ + route_->total_timeout;
  Connect(/*avoid=*/nullptr, /*fresh=*/false);
}

void ProxyExchange::Connect(const UpstreamPool* avoid, bool fresh) {
  ++attempts_;
  size_t index = 0;
  pool_ = pools_.Pick(*route_, *route_state_, now(), avoid, &index);
  SocketAddress address = route_->upstreams[index].resolved;
  if (address.length == 0) {
    // Not resolved by the control plane (a config built in-process): literals only.
    auto parsed = ParseSocketAddress(route_->upstreams[index].address);
    if (parsed.ok()) address = *parsed;
  }
  pool_->stats().requests.Add();
  pool_->AddOutstanding(1);
  bool reused = false;
  upstream_ = pool_->Acquire(address, fresh, &reused);
  reused_ = reused;
  if (upstream_ == nullptr) {
    // Out of descriptors or memory here is this node's trouble, not the upstream's: no
    // ejection, no retry (it would fail the same way).
    const bool local = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    if (local) {
      pool_->stats().errors.broken.Add();
      Fail(Failure::kBroken);
      return;
    }
    OnUpstreamBroken(/*connect_failed=*/true);
    return;
  }
  upstream_->Lend(this);
  if (upstream_->connecting()) {
    connect_deadline_ = now() + route_->connect_timeout;
    ArmTimer();
    return;
  }
  OnConnected();
}

void ProxyExchange::OnConnected() {
  state_ = State::kExchanging;
  connect_deadline_ = 0;
  if (!reused_) {
    pool_->OnConnectSucceeded();
  }
  if (SendRequest()) {
    ReceiveResponse();
  }
}

bool ProxyExchange::SendRequest() {
  if (send_failed_) {
    request_out_.Consume(request_out_.size());  // nobody takes it any more
  }
  while (!request_out_.empty()) {
    UpstreamConnection::IoResult result;
    std::string_view pending = request_out_.readable();
    size_t sent = upstream_->Send(pending, &result);
    request_out_.Consume(sent);
    if (result == UpstreamConnection::IoResult::kWouldBlock) {
      return true;  // EPOLLOUT will come
    }
    if (result == UpstreamConnection::IoResult::kError) {
      // An upstream may answer early (413, 401) and close without reading the rest: its
      // answer is still in our receive queue, so read on and let the response decide.
      send_failed_ = true;
      request_out_.Consume(request_out_.size());
      break;
    }
  }
  request_out_.ReleaseIfEmpty(context_.pool);
  if (request_complete_ && !send_failed_ && !request_sent_) {
    request_sent_ = true;
    if (!got_first_byte_) {
      first_byte_deadline_ = now() + route_->first_byte_timeout;  // an upload is not waiting
      ArmTimer();
    }
  }
  return true;
}

bool ProxyExchange::ReceiveResponse() {
  if (!upstream_->readable() || upstream_->in().size() >= kMaxBufferedResponse) {
    return true;
  }
  UpstreamConnection::IoResult result = upstream_->Receive(kMaxBufferedResponse);
  if (!upstream_->in().empty() && !got_first_byte_) {
    got_first_byte_ = true;
    first_byte_deadline_ = 0;
    ArmTimer();
  }
  if (result != UpstreamConnection::IoResult::kOk &&
      result != UpstreamConnection::IoResult::kWouldBlock && !got_first_byte_) {
    OnUpstreamBroken(/*connect_failed=*/false);
    return false;
  }
  // An EOF or reset after response bytes is judged by the parser: a close-delimited body
  // ends there, anything else was cut.
  return true;
}

void ProxyExchange::OnUpstreamEvent() {
  if (upstream_ == nullptr) {
    return;
  }
  if (state_ == State::kConnecting) {
    if (upstream_->connecting()) {
      return;
    }
    if (upstream_->connect_error() != 0) {
      OnUpstreamBroken(/*connect_failed=*/true);
    } else {
      OnConnected();
    }
  } else if (state_ == State::kExchanging) {
    if (SendRequest()) {
      ReceiveResponse();
    }
  }
  client_->OnProxyProgress();
}

bool ProxyExchange::CanRetry(bool connect_failed) const {
  if (attempts_ >= kMaxAttempts || got_first_byte_) return false;
  // Nothing left after a failed connect: every byte is still in request_out_.
  if (connect_failed) return true;
  // A request that may have reached the upstream is resent only when doing it twice is
  // harmless (RFC 9110 9.2.2) and we still hold all of it.
  return idempotent_ && !has_body_;
}

void ProxyExchange::OnUpstreamBroken(bool connect_failed) {
  if (connect_failed) {
    pool_->stats().errors.connect_failed.Add();
    pool_->OnConnectFailed(now());
  }
  // A reused connection that breaks before answering was most likely closed by the
  // upstream while idle: not the upstream's fault, and resent on a fresh one when safe.
  const bool stale = !connect_failed && reused_ && !got_first_byte_;
  if ((connect_failed || stale) && CanRetry(connect_failed)) {
    Retry(connect_failed);
    return;
  }
  if (!connect_failed) {
    pool_->stats().errors.broken.Add();
  }
  Fail(connect_failed ? Failure::kConnectFailed : Failure::kBroken);
}

void ProxyExchange::Retry(bool connect_failed) {
  UpstreamPool* previous = pool_;
  ReleaseUpstream(/*reusable=*/false);
  if (!connect_failed) {  // the head may have left: send it again whole
    request_out_.Consume(request_out_.size());
    request_out_.Append(context_.pool, upstream_head_);
  }
  send_failed_ = false;
  state_ = State::kConnecting;
  Connect(connect_failed ? previous : nullptr, /*fresh=*/!connect_failed);
}

void ProxyExchange::Fail(Failure failure) {
  if (pool_ != nullptr) {
    UpstreamStats::Errors& errors = pool_->stats().errors;
    switch (failure) {
      case Failure::kConnectTimeout:
        errors.connect_timeout.Add();
        break;
      case Failure::kFirstByteTimeout:
        errors.first_byte_timeout.Add();
        break;
      case Failure::kTotalTimeout:
        errors.total_timeout.Add();
        break;
      case Failure::kConnectFailed:
      case Failure::kBroken:
        break;  // counted where detected
    }
  }
  route_state_->stats->errors.Add();
  ReleaseUpstream(/*reusable=*/false);
  timer_.Cancel();
  request_out_.Consume(request_out_.size());
  request_out_.ReleaseIfEmpty(context_.pool);
  if (head_forwarded_) {
    state_ = State::kAborted;
    return;
  }
  state_ = State::kFailed;
  const bool timeout = failure == Failure::kConnectTimeout ||
                       failure == Failure::kFirstByteTimeout || failure == Failure::kTotalTimeout;
  error_status_ = timeout ? 504 : 502;
}

void ProxyExchange::Finish(bool reusable) {
  state_ = State::kDone;
  timer_.Cancel();
  pool_->stats().latency.Record(now() - began_at_);
  ReleaseUpstream(reusable);
}

void ProxyExchange::ReleaseUpstream(bool reusable) {
  if (pool_ == nullptr) {
    return;
  }
  pool_->AddOutstanding(-1);
  if (upstream_ != nullptr) {
    pool_->Release(upstream_, reusable);
    upstream_ = nullptr;
  }
  pool_ = nullptr;
}

void ProxyExchange::Abandon() {
  if (state_ == State::kDone || state_ == State::kFailed || state_ == State::kAborted) {
    return;
  }
  state_ = State::kAborted;
  timer_.Cancel();
  ReleaseUpstream(/*reusable=*/false);
}

ProxyExchange::PumpResult ProxyExchange::Pump(Buffer& out, BufferPool& pool, size_t limit,
                                              const ClientSide& client) {
  while (true) {
    switch (state_) {
      case State::kDone:
        return PumpResult::kDone;
      case State::kFailed:
        return PumpResult::kFailed;
      case State::kAborted:
        return PumpResult::kAborted;
      case State::kDelaying:
      case State::kConnecting:
        return PumpResult::kWaiting;
      case State::kExchanging:
        break;
    }
    if (out.size() >= limit) {
      return PumpResult::kWaiting;  // the client drains first; the upstream waits
    }
    Buffer& in = upstream_->in();
    std::string_view input = in.readable();
    ParseResult result = parser_.Parse(input);
    switch (result.event) {
      case ParseEvent::kHeadComplete: {
        const UpstreamResponseHead& head = parser_.head();
        response_status_ = head.status;
        BodyFraming framing = BodyFraming::kNone;
        if (client.head_only) {
          // The length the body would have: kept, with no body after it.
          framing = head.has_content_length ? BodyFraming::kContentLength : BodyFraming::kNone;
        } else if (head.framing == BodyFraming::kContentLength) {
          framing = BodyFraming::kContentLength;
        } else if (head.framing == BodyFraming::kChunked ||
                   head.framing == BodyFraming::kUntilClose) {
          framing = client.http10 ? BodyFraming::kUntilClose : BodyFraming::kChunked;
        }
        chunked_to_client_ = framing == BodyFraming::kChunked;
        close_after_ = client.close || framing == BodyFraming::kUntilClose;
        ProxiedResponse response;
        response.upstream_head = parser_.RawHead(input, result);
        response.framing = framing;
        response.content_length = head.content_length;
        response.connection = close_after_    ? ClientConnection::kClose
                              : client.http10 ? ClientConnection::kKeepAlive
                                              : ClientConnection::kDefault;
        response.date_field = context_.date.Get(WallClockSeconds());
        scratch_.clear();
        AppendClientResponseHead(scratch_, response);
        out.Append(pool, scratch_);
        head_forwarded_ = true;
        in.Consume(result.consumed);
        continue;
      }
      case ParseEvent::kBodyData:
        if (chunked_to_client_) {
          scratch_.clear();
          AppendChunk(scratch_, result.body);
          out.Append(pool, scratch_);
        } else {
          out.Append(pool, result.body);
        }
        in.Consume(result.consumed);
        continue;
      case ParseEvent::kMessageComplete: {
        in.Consume(result.consumed);
        if (chunked_to_client_) {
          scratch_.clear();
          AppendLastChunk(scratch_);
          out.Append(pool, scratch_);
        }
        bool reusable =
            parser_.head().keep_alive && request_sent_ && in.empty() && !upstream_->peer_closed();
        Finish(reusable);
        return PumpResult::kDone;
      }
      case ParseEvent::kError:
        pool_->stats().errors.broken.Add();
        Fail(Failure::kBroken);
        continue;
      case ParseEvent::kNeedMore:
        in.Consume(result.consumed);
        break;
    }
    // Needs more bytes from the upstream.
    const size_t buffered = in.size();
    if (!ReceiveResponse()) {
      continue;  // broken: retried or failed, the state says which
    }
    if (upstream_->in().size() > buffered) {
      continue;
    }
    if (upstream_->peer_closed() && !upstream_->readable()) {
      ParseResult end = parser_.Finish();  // a close-delimited body ends here; others broke
      if (end.event == ParseEvent::kMessageComplete) {
        if (chunked_to_client_) {
          scratch_.clear();
          AppendLastChunk(scratch_);
          out.Append(pool, scratch_);
        }
        Finish(/*reusable=*/false);
        return PumpResult::kDone;
      }
      pool_->stats().errors.broken.Add();
      Fail(Failure::kBroken);
      continue;
    }
    return PumpResult::kWaiting;
  }
}

void ProxyExchange::OnTimer() {
  const MonoTime current = now();
  if (state_ == State::kDelaying) {
    if (current >= start_at_) {
      Begin();
      client_->OnProxyProgress();
    }
    return;
  }
  if (state_ != State::kConnecting && state_ != State::kExchanging) {
    return;
  }
  if (total_deadline_ != 0 && current >= total_deadline_) {
    Fail(Failure::kTotalTimeout);
  } else if (connect_deadline_ != 0 && current >= connect_deadline_) {
    pool_->OnConnectFailed(current);
    Fail(Failure::kConnectTimeout);
  } else if (first_byte_deadline_ != 0 && current >= first_byte_deadline_) {
    Fail(Failure::kFirstByteTimeout);
  } else {
    ArmTimer();
    return;
  }
  client_->OnProxyProgress();
}

void ProxyExchange::ArmTimer() {
  MonoTime next = total_deadline_;
  for (MonoTime deadline : {connect_deadline_, first_byte_deadline_}) {
    if (deadline != 0 && (next == 0 || deadline < next)) next = deadline;
  }
  if (next != 0 && (!timer_.armed() || timer_.deadline() != next)) {
    timer_.ArmAt(next);
  }
}

}  // namespace proxynode
