#include "dataplane/server/http2_session.h"

#include <algorithm>
#include <cassert>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/server/http2_callbacks.h"

namespace proxynode {
namespace {

constexpr std::string_view kSwitchingProtocols =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";

std::string_view View(const uint8_t* data, size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}

}  // namespace

Http2Session::Http2Session(TimerQueue& timers)
    : timeout_timer_(timers, [this] { OnTimeoutTimer(); }) {}

Http2Session::~Http2Session() {
  // Pooled sessions are cleared when given back; one destroyed while bound (a worker
  // stopping) is cleared by its connection first.
  assert(session_ == nullptr && active_.empty());
}

void Http2Session::Bind(WorkerContext* context, SessionHost* host) {
  context_ = context;
  host_ = host;
  peer_ = SocketAddress{};
  ledger_.Bind(
      context != nullptr ? &context->stats : nullptr,
      context != nullptr && context->serving != nullptr ? &context->serving->admission : nullptr,
      context != nullptr ? context->access : nullptr);
}

bool Http2Session::Start(std::string_view input, const Http2Upgrade* upgrade) {
  context_->stats.http2_connections.Add();
  nghttp2_mem* memory = context_->http2_memory != nullptr ? context_->http2_memory->mem() : nullptr;
  if (nghttp2_session_server_new3(&session_, ServerCallbacks(), this, ServerOptions(), memory) !=
      0) {
    session_ = nullptr;
    host_->Close(CloseReason::kIoError);
    return false;
  }
  const ConfigSnapshot& config = context_->snapshots.current();
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(config.max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection's window past the default 64 KiB: one proxied upload waiting for its
  // upstream does not hold up the connection's other streams (each stream keeps 64 KiB).
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  if (upgrade != nullptr) {
    // RFC 7540 3.2: the 101 ends HTTP/1.1; the server preface (SETTINGS) follows at once.
    out_.Append(context_->pool, kSwitchingProtocols);
    Http2Stream* stream = AcquireStream(1);
    if (nghttp2_session_upgrade2(
            session_, reinterpret_cast<const uint8_t*>(upgrade->settings.data()),
            upgrade->settings.size(), upgrade->head_request ? 1 : 0, stream) != 0) {
      ReleaseStream(stream);
      host_->Close(CloseReason::kIoError);
      return false;
    }
    stream->request.Begin(ParserLimits{.max_header_bytes = config.max_header_bytes,
                                       .max_body_bytes = config.max_body_bytes});
    AddHttp1HeadFields(upgrade->head_block, stream->request);
    stream->request_ended = true;  // only a request without a body is upgraded
    OnRequestHeaders(*stream);
  }
  if (!input.empty()) {
    in_.Append(context_->pool, input);
  }
  return true;
}

SessionPhase Http2Session::phase() const {
  return active_.empty() ? SessionPhase::kAtRest : SessionPhase::kWaiting;
}

void Http2Session::Progress(bool writable_again) {
  if (closed() || lingering_) {
    return;
  }
  if (writable_again) {
    Flush();
    if (closed()) {
      return;
    }
  }
  ReadAndProcess();
  if (closed()) {
    return;
  }
  Flush();
  if (!closed()) {
    Settle();
  }
}

void Http2Session::ReadAndProcess() {
  while (true) {
    if (!in_.empty()) {
      const std::string_view input = in_.readable();
      const ssize_t consumed = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(input.data()), input.size());
      if (closed()) {
        return;  // a callback closed the connection
      }
      if (consumed < 0) {
        // Not HTTP/2 at all (a bad client preface) or a flood nghttp2 gave up on: what it
        // queued (a GOAWAY) goes out, then the connection ends.
        context_->stats.rejected.bad_request.Add();
        Flush();
        if (!closed()) {
          host_->Close(CloseReason::kNormal);
        }
        return;
      }
      in_.Consume(static_cast<size_t>(consumed));
      Flush();  // answers to what was just read go out before more is read
      if (closed()) {
        return;
      }
    }
    // A client that does not read its responses is not read either.
    if (!host_->readable() || out_.size() >= kMaxBufferedOutput || host_->write_blocked() ||
        nghttp2_session_want_read(session_) == 0) {
      break;
    }
    const SessionHost::Input input = host_->ReadInput(in_, kReadChunk);
    if (closed()) {
      return;
    }
    if (input.arrived_at != 0) {
      arrived_at_ = input.arrived_at;
    }
    if (input.bytes == 0) {
      break;
    }
  }
  in_.ReleaseIfEmpty(context_->pool);
}

void Http2Session::Flush() {
  while (!closed()) {
    while (out_.size() < kMaxBufferedOutput) {
      const uint8_t* data = nullptr;
      const ssize_t produced = nghttp2_session_mem_send(session_, &data);
      if (closed()) {
        return;
      }
      if (produced < 0) {
        host_->Close(CloseReason::kIoError);
        return;
      }
      if (produced == 0) {
        break;
      }
      out_.Append(context_->pool, View(data, static_cast<size_t>(produced)));
    }
    if (out_.empty()) {
      break;
    }
    host_->WriteOutput(out_, SIZE_MAX);
    if (closed() || host_->write_blocked() || nghttp2_session_want_write(session_) == 0) {
      break;  // an EPOLLOUT edge calls Progress(true) when the socket takes more
    }
  }
  if (!closed()) {
    out_.ReleaseIfEmpty(context_->pool);
  }
}

void Http2Session::Settle() {
  if (lingering_) {
    return;
  }
  const bool output_left = !out_.empty() || host_->write_blocked();
  if (!output_left) {
    const bool over =
        nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
    const bool stopping = context_->draining || context_->retiring;
    if (stopping && !goaway_sent_) {
      Goaway(NGHTTP2_NO_ERROR);
      Flush();
      if (closed()) {
        return;
      }
    }
    if (host_->input_ended() && active_.empty()) {
      host_->Close(CloseReason::kPeerClosed);
      return;
    }
    if (over || (goaway_sent_ && active_.empty())) {
      // Everything owed left: FIN, then wait for the client's (a close with its unread
      // bytes in our socket would reset the connection and lose our last frames).
      host_->EndOutput(/*input_left=*/false, /*silent=*/false);
      return;
    }
  }
  if (!timeout_timer_.armed()) {
    timeout_timer_.ArmAt(host_->last_activity() + context_->snapshots.current().idle_timeout);
  }
}

void Http2Session::OnTimeoutTimer() {
  if (closed()) {
    return;
  }
  if (lingering_) {
    host_->Close(CloseReason::kNormal);
    return;
  }
  const MonoTime current = now();
  const MonoTime deadline = host_->last_activity() + context_->snapshots.current().idle_timeout;
  if (current < deadline) {
    timeout_timer_.ArmAt(deadline);
    return;
  }
  if (host_->write_blocked()) {
    host_->Close(CloseReason::kIoError);  // the client stopped reading
    return;
  }
  if (!active_.empty()) {
    timeout_timer_.ArmAt(current + context_->snapshots.current().idle_timeout);
    return;  // waiting on our own delays, which is not the client's fault
  }
  Goaway(NGHTTP2_NO_ERROR);
  Flush();
  if (!closed()) {
    host_->Close(CloseReason::kIdleTimeout);
  }
}

void Http2Session::Reject(int /*status*/, uint32_t /*retry_after_seconds*/) {
  Goaway(NGHTTP2_REFUSED_STREAM);
  Flush();
  if (!closed()) {
    host_->Close(CloseReason::kNormal);
  }
}

void Http2Session::OnConfigChanged() {
  if (lingering_) {
    return;
  }
  const MonoTime deadline = host_->last_activity() + context_->snapshots.current().idle_timeout;
  if (!timeout_timer_.armed() || deadline < timeout_timer_.deadline()) {
    timeout_timer_.ArmAt(deadline);
  }
}

void Http2Session::ArmLingerTimeout(MonoTime deadline) {
  lingering_ = true;
  timeout_timer_.ArmAt(deadline);
}

void Http2Session::BeginDrain() {
  if (closed() || lingering_) {
    return;
  }
  Goaway(NGHTTP2_NO_ERROR);
  Flush();
  if (!closed()) {
    Settle();
  }
}

void Http2Session::Goaway(uint32_t error_code) {
  if (goaway_sent_) {
    return;
  }
  goaway_sent_ = true;
  // The last stream taken: the client knows every later one was not, and retries it.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), error_code, nullptr, 0);
}

void Http2Session::Abandon() {
  timeout_timer_.Cancel();
  for (Http2Stream* stream : active_) {
    if (stream->phase != Http2Stream::Phase::kDone) {
      ledger_.Release(stream->response);
    }
    stream->timer.Cancel();
    if (stream->call != nullptr) {
      stream->call->Recycle();  // resets its upstream stream
    }
    stream->response = PendingResponse{};
    free_streams_.emplace_back(stream);
  }
  active_.clear();
}

void Http2Session::Clear() {
  Abandon();
  // nghttp2's session goes only now: Abandon may run inside one of its callbacks.
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
    session_ = nullptr;
  }
  in_.Consume(in_.size());
  in_.ReleaseIfEmpty(context_->pool);
  out_.Consume(out_.size());
  out_.ReleaseIfEmpty(context_->pool);
  arrived_at_ = 0;
  connection_pacer_ = BytePacer{};
  reset_window_start_ = 0;
  resets_in_window_ = 0;
  goaway_sent_ = false;
  lingering_ = false;
}

Http2Stream* Http2Session::AcquireStream(int32_t stream_id) {
  Http2Stream* stream;
  if (free_streams_.empty()) {
    stream =
        new Http2Stream(context_->loop.timers(), [this](Http2Stream& due) { OnStreamTimer(due); });
  } else {
    stream = free_streams_.back().release();
    free_streams_.pop_back();
  }
  stream->Reset(stream_id);
  active_.push_back(stream);
  return stream;
}

void Http2Session::ReleaseStream(Http2Stream* stream) {
  stream->timer.Cancel();
  if (stream->call != nullptr) {
    stream->call->Recycle();
  }
  stream->response = PendingResponse{};  // unpins the snapshot
  active_.erase(std::find(active_.begin(), active_.end(), stream));
  free_streams_.emplace_back(stream);
}

bool Http2Session::CountClientReset() {
  const MonoTime current = now();
  if (current - reset_window_start_ >= kSecond) {
    reset_window_start_ = current;
    resets_in_window_ = 0;
  }
  return ++resets_in_window_ > kMaxResetsPerSecond;
}

}  // namespace proxynode
