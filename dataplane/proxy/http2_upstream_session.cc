#include "dataplane/proxy/http2_upstream_session.h"

#include <algorithm>

#include "dataplane/proxy/upstream_pool.h"

namespace proxynode {
namespace {

// The connection-level receive window: response bytes one session holds for slow clients.
constexpr int32_t kConnectionWindow = 1 << 20;

std::string_view View(const uint8_t* data, size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}

Http2UpstreamSession& SessionOf(void* user_data) {
  return *static_cast<Http2UpstreamSession*>(user_data);
}

int OnHeaderCallback(nghttp2_session* /*session*/, const nghttp2_frame* frame, const uint8_t* name,
                     size_t name_length, const uint8_t* value, size_t value_length,
                     uint8_t /*flags*/, void* user_data) {
  return SessionOf(user_data).OnHeader(*frame, View(name, name_length), View(value, value_length));
}

int OnFrameReceivedCallback(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                            void* user_data) {
  return SessionOf(user_data).OnFrameReceived(*frame);
}

int OnDataChunkCallback(nghttp2_session* /*session*/, uint8_t /*flags*/, int32_t stream_id,
                        const uint8_t* data, size_t length, void* user_data) {
  return SessionOf(user_data).OnDataChunk(stream_id, View(data, length));
}

int OnStreamCloseCallback(nghttp2_session* /*session*/, int32_t stream_id, uint32_t error_code,
                          void* user_data) {
  return SessionOf(user_data).OnStreamClose(stream_id, error_code);
}

ssize_t ReadRequestBodyCallback(nghttp2_session* /*session*/, int32_t stream_id, uint8_t* buffer,
                                size_t length, uint32_t* flags, nghttp2_data_source* /*source*/,
                                void* user_data) {
  return SessionOf(user_data).ReadBody(stream_id, buffer, length, flags);
}

nghttp2_session_callbacks* ClientCallbacks() {
  // Built once, read-only after: every worker's sessions share it.
  static nghttp2_session_callbacks* const callbacks = [] {
    nghttp2_session_callbacks* made = nullptr;
    nghttp2_session_callbacks_new(&made);
    nghttp2_session_callbacks_set_on_header_callback(made, OnHeaderCallback);
    nghttp2_session_callbacks_set_on_frame_recv_callback(made, OnFrameReceivedCallback);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(made, OnDataChunkCallback);
    nghttp2_session_callbacks_set_on_stream_close_callback(made, OnStreamCloseCallback);
    return made;
  }();
  return callbacks;
}

nghttp2_option* ClientOptions() {
  static nghttp2_option* const options = [] {
    nghttp2_option* made = nullptr;
    nghttp2_option_new(&made);
    // Window updates follow what the client side took (Consume), not what arrived.
    nghttp2_option_set_no_auto_window_update(made, 1);
    // Until the upstream's SETTINGS say otherwise.
    nghttp2_option_set_peer_max_concurrent_streams(made, Http2UpstreamSession::kMaxStreams);
    return made;
  }();
  return options;
}

}  // namespace

Http2UpstreamSession::Http2UpstreamSession(EventLoop& loop, BufferPool& buffers, UpstreamPool& pool,
                                           UpstreamConnection* connection,
                                           MonoTime connect_deadline)
    : loop_(loop),
      buffers_(buffers),
      pool_(pool),
      connection_(connection),
      connect_timer_(loop.timers(), [this] { OnConnectTimer(); }),
      flush_timer_(loop.timers(), [this] { Flush(); }),
      idle_since_(loop.now()) {
  streams_.reserve(kMaxStreams);
  tls_ = connection_->tls();
  connection_->Lend(this);
  // A TLS connection is connecting until its handshake is done.
  if (connection_->connecting()) {
    connect_timer_.ArmAt(connect_deadline);
  } else {
    connected_ = true;
  }
}

Http2UpstreamSession::~Http2UpstreamSession() {
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
  out_.Consume(out_.size());
  out_.ReleaseIfEmpty(buffers_);
  if (connection_ != nullptr) {
    connection_->Return();  // the pool, going away too, closes it
  }
}

bool Http2UpstreamSession::Start(nghttp2_mem* memory) {
  if (nghttp2_session_client_new3(&session_, ClientCallbacks(), this, ClientOptions(), memory) !=
      0) {
    session_ = nullptr;
    Terminate(UpstreamLoss::kBroken);
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 0},  // nothing pushed, nothing opened by it
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  if (connected_) {
    ScheduleFlush();
  }
  return true;
}

bool Http2UpstreamSession::accepting() const {
  if (closed_ || goaway_ || session_ == nullptr) {
    return false;
  }
  const uint32_t allowed = std::min(
      kMaxStreams,
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  return streams_.size() < allowed;
}

int32_t Http2UpstreamSession::Submit(Stream& stream, const nghttp2_nv* fields, size_t count,
                                     bool has_body) {
  nghttp2_data_provider provider{};
  provider.read_callback = ReadRequestBodyCallback;
  const int32_t id = nghttp2_submit_request(session_, nullptr, fields, count,
                                            has_body ? &provider : nullptr, &stream);
  if (id <= 0) {
    return 0;
  }
  streams_.push_back(Open{id, &stream});
  ScheduleFlush();
  return id;
}

void Http2UpstreamSession::ResumeBody(int32_t stream_id) {
  if (closed_) {
    return;
  }
  nghttp2_session_resume_data(session_, stream_id);
  ScheduleFlush();
}

void Http2UpstreamSession::SubmitTrailers(int32_t stream_id, const nghttp2_nv* fields,
                                          size_t count) {
  nghttp2_submit_trailer(session_, stream_id, fields, count);
}

void Http2UpstreamSession::Consume(int32_t stream_id, size_t bytes) {
  if (closed_ || bytes == 0) {
    return;
  }
  nghttp2_session_consume(session_, stream_id, bytes);
  ScheduleFlush();
}

void Http2UpstreamSession::Cancel(int32_t stream_id, uint32_t error_code) {
  Forget(stream_id);
  if (closed_) {
    return;
  }
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  ScheduleFlush();
}

void Http2UpstreamSession::Close() {
  if (closed_) {
    return;
  }
  if (streams_.empty()) {
    Terminate(UpstreamLoss::kNone);
    return;
  }
  if (!goaway_) {
    goaway_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    ScheduleFlush();
  }
}

void Http2UpstreamSession::OnUpstreamEvent() {
  if (closed_) {
    return;
  }
  if (!connected_) {
    if (connection_->connecting()) {
      return;
    }
    if (connection_->connect_error() != 0) {
      pool_.OnConnectFailed(now());
      tls_failure_ = connection_->tls_failure();
      Terminate(tls_failure_ != nullptr ? UpstreamLoss::kTlsFailed : UpstreamLoss::kConnectFailed);
      return;
    }
    connected_ = true;
    connect_timer_.Cancel();
    if (tls_ && connection_->alpn() != "h2") {
      // RFC 9113 3.2: h2 over TLS only when both said so.
      pool_.OnConnectFailed(now());
      tls_failure_ = "the upstream did not agree to HTTP/2 (no ALPN h2)";
      Terminate(UpstreamLoss::kTlsFailed);
      return;
    }
    pool_.OnConnectSucceeded();
  }
  ReadAndProcess();
  if (!closed_) {
    Flush();
  }
}

void Http2UpstreamSession::ReadAndProcess() {
  Buffer& in = connection_->in();
  while (!closed_) {
    const IoStatus status = connection_->Receive(kReadChunk);
    if (!in.empty()) {
      const std::string_view input = in.readable();
      const ssize_t consumed = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(input.data()), input.size());
      if (consumed < 0) {
        NotifyTouched();
        Terminate(UpstreamLoss::kBroken);
        return;
      }
      in.Consume(static_cast<size_t>(consumed));
      NotifyTouched();
    }
    if (status == IoStatus::kEof || status == IoStatus::kError) {
      Terminate(UpstreamLoss::kBroken);
      return;
    }
    if (status == IoStatus::kWouldBlock) {
      break;
    }
  }
  if (!closed_ && goaway_ && streams_.empty()) {
    Terminate(UpstreamLoss::kNone);
  }
}

void Http2UpstreamSession::Flush() {
  if (closed_ || !connected_ || session_ == nullptr) {
    return;
  }
  while (out_.size() < kMaxBufferedOutput) {
    const uint8_t* data = nullptr;
    const ssize_t produced = nghttp2_session_mem_send(session_, &data);
    if (produced < 0) {
      Terminate(UpstreamLoss::kBroken);
      return;
    }
    if (produced == 0) {
      break;
    }
    out_.Append(buffers_, View(data, static_cast<size_t>(produced)));
  }
  if (!out_.empty()) {
    const WriteResult result = connection_->Send(out_);
    if (result.status == IoStatus::kError) {
      Terminate(UpstreamLoss::kBroken);
      return;
    }
  }
  out_.ReleaseIfEmpty(buffers_);
  if (out_.empty() && nghttp2_session_want_write(session_) != 0) {
    ScheduleFlush();  // more than kMaxBufferedOutput was waiting
  }
  // The socket full, the write edge (OnUpstreamEvent) flushes the rest.
  NotifyTouched();  // streams nghttp2 closed while sending (a reset of its own)
}

void Http2UpstreamSession::ScheduleFlush() {
  if (!flush_timer_.armed() && !closed_) {
    flush_timer_.ArmAt(now());
  }
}

void Http2UpstreamSession::Touch(Stream* stream) {
  if (std::find(touched_.begin(), touched_.end(), stream) == touched_.end()) {
    touched_.push_back(stream);
  }
}

void Http2UpstreamSession::NotifyTouched() {
  // A call may cancel others (its client connection closing): Forget drops them from here.
  while (!touched_.empty()) {
    Stream* stream = touched_.back();
    touched_.pop_back();
    stream->OnUpstreamProgress();
  }
}

Http2UpstreamSession::Stream* Http2UpstreamSession::StreamOf(int32_t stream_id) const {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, stream_id));
}

void Http2UpstreamSession::Forget(int32_t stream_id) {
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [stream_id](const Open& open) { return open.id == stream_id; });
  if (it == streams_.end()) {
    return;
  }
  Stream* stream = it->stream;
  streams_.erase(it);
  nghttp2_session_set_stream_user_data(session_, stream_id, nullptr);
  touched_.erase(std::remove(touched_.begin(), touched_.end(), stream), touched_.end());
  if (streams_.empty()) {
    idle_since_ = now();
  }
}

void Http2UpstreamSession::Terminate(UpstreamLoss loss) {
  if (closed_) {
    return;
  }
  closed_ = true;
  connect_timer_.Cancel();
  flush_timer_.Cancel();
  // Every stream left hears of it, then acts (a retry elsewhere, a 502, a reset).
  std::vector<Open> lost;
  lost.swap(streams_);
  touched_.clear();
  for (const Open& open : lost) {
    open.stream->OnUpstreamClosed(NGHTTP2_INTERNAL_ERROR,
                                  loss == UpstreamLoss::kNone ? UpstreamLoss::kBroken : loss);
  }
  for (const Open& open : lost) {
    open.stream->OnUpstreamProgress();
  }
  UpstreamConnection* connection = connection_;
  connection_ = nullptr;
  pool_.Release(connection, /*reusable=*/false);
  pool_.OnHttp2SessionClosed(this);  // deletion deferred: this may be on the stack
}

void Http2UpstreamSession::OnConnectTimer() {
  if (!connected_ && !closed_) {
    pool_.OnConnectFailed(now());
    Terminate(UpstreamLoss::kConnectTimeout);
  }
}

int Http2UpstreamSession::OnHeader(const nghttp2_frame& frame, std::string_view name,
                                   std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  Stream* stream = StreamOf(frame.hd.stream_id);
  if (stream == nullptr) {
    return 0;
  }
  stream->OnUpstreamField(name, value);
  return 0;
}

int Http2UpstreamSession::OnFrameReceived(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_GOAWAY) {
    goaway_ = true;  // streams past its last id are closed REFUSED_STREAM by nghttp2
    return 0;
  }
  Stream* stream = StreamOf(frame.hd.stream_id);
  if (stream == nullptr) {
    return 0;
  }
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    stream->OnUpstreamHeaders();
    Touch(stream);
  }
  if ((frame.hd.type == NGHTTP2_HEADERS || frame.hd.type == NGHTTP2_DATA) && end_stream) {
    stream->OnUpstreamEnd();
    Touch(stream);
  }
  return 0;
}

int Http2UpstreamSession::OnDataChunk(int32_t stream_id, std::string_view data) {
  Stream* stream = StreamOf(stream_id);
  if (stream == nullptr) {
    // A cancelled stream's data: nobody takes it, so it counts as taken at once.
    nghttp2_session_consume(session_, stream_id, data.size());
    return 0;
  }
  stream->OnUpstreamData(data);
  Touch(stream);
  return 0;
}

int Http2UpstreamSession::OnStreamClose(int32_t stream_id, uint32_t error_code) {
  Stream* stream = StreamOf(stream_id);
  if (stream == nullptr) {
    return 0;
  }
  Forget(stream_id);
  stream->OnUpstreamClosed(error_code, UpstreamLoss::kNone);
  Touch(stream);  // told after the input (ReadAndProcess) or the output (Flush) is done
  return 0;
}

ssize_t Http2UpstreamSession::ReadBody(int32_t stream_id, uint8_t* buffer, size_t length,
                                       uint32_t* flags) {
  Stream* stream = StreamOf(stream_id);
  if (stream == nullptr) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
  }
  const ssize_t read = stream->ReadRequestBody(buffer, length, flags);
  if (read > 0) {
    Touch(stream);  // the client side's window opens by as much, after this send
  }
  return read;
}

}  // namespace proxynode
