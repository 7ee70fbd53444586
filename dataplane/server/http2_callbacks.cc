// nghttp2's callbacks: C functions that find the session in `user_data` and the stream in
// the stream's user data, and hand over to Http2Session's members.

#include "dataplane/server/http2_callbacks.h"

#include "dataplane/server/http2_session.h"

namespace proxynode {
namespace {

Http2Session& SessionOf(void* user_data) { return *static_cast<Http2Session*>(user_data); }

std::string_view View(const uint8_t* data, size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}

int OnBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  return SessionOf(user_data).OnBeginHeaders(frame->hd.stream_id);
}

int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
             size_t name_length, const uint8_t* value, size_t value_length, uint8_t /*flags*/,
             void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  auto* stream =
      static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (stream == nullptr) {
    return 0;
  }
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    return SessionOf(user_data).OnHeader(*stream, View(name, name_length),
                                         View(value, value_length));
  }
  return SessionOf(user_data).OnTrailer(*stream, View(name, name_length),
                                        View(value, value_length));
}

int OnFrameReceived(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user_data) {
  return SessionOf(user_data).OnFrameReceived(*frame);
}

int OnDataChunk(nghttp2_session* /*session*/, uint8_t /*flags*/, int32_t stream_id,
                const uint8_t* data, size_t length, void* user_data) {
  return SessionOf(user_data).OnData(stream_id, View(data, length));
}

int OnFrameSent(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user_data) {
  return SessionOf(user_data).OnFrameSent(*frame);
}

int OnStreamClose(nghttp2_session* /*session*/, int32_t stream_id, uint32_t /*error_code*/,
                  void* user_data) {
  return SessionOf(user_data).OnStreamClose(stream_id);
}

}  // namespace

ssize_t ReadResponseBody(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buffer,
                         size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                         void* user_data) {
  return SessionOf(user_data).ReadBody(*static_cast<Http2Stream*>(source->ptr), buffer, length,
                                       data_flags);
}

nghttp2_session_callbacks* ServerCallbacks() {
  // Built once, read-only after: every worker's sessions share it.
  static nghttp2_session_callbacks* const callbacks = [] {
    nghttp2_session_callbacks* made = nullptr;
    nghttp2_session_callbacks_new(&made);
    nghttp2_session_callbacks_set_on_begin_headers_callback(made, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(made, OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(made, OnFrameReceived);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(made, OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(made, OnFrameSent);
    nghttp2_session_callbacks_set_on_stream_close_callback(made, OnStreamClose);
    return made;
  }();
  return callbacks;
}

nghttp2_option* ServerOptions() {
  static nghttp2_option* const options = [] {
    nghttp2_option* made = nullptr;
    nghttp2_option_new(&made);
    // Backstop to the session's own cap on client resets (CVE-2023-44487): nghttp2 answers
    // a flood past it with GOAWAY as well.
    nghttp2_option_set_stream_reset_rate_limit(made, 2 * Http2Session::kMaxResetsPerSecond,
                                               Http2Session::kMaxResetsPerSecond);
    // Receive windows open as bytes are taken (nghttp2_session_consume): a proxied upload
    // waits for its upstream instead of piling up here.
    nghttp2_option_set_no_auto_window_update(made, 1);
    return made;
  }();
  return options;
}

}  // namespace proxynode
