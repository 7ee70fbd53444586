#pragma once

// HTTP/2 from a worker to one upstream over one pooled connection (h2c with prior
// knowledge), on libnghttp2's client session: the framing, HPACK, flow control and SETTINGS
// are the library's. Many proxied calls share it, one stream each, up to what the upstream
// allows (SETTINGS_MAX_CONCURRENT_STREAMS, and kMaxStreams).
//
// Calls are told about their stream through Stream. nghttp2 forbids sending from inside its
// callbacks, so the callbacks only record on the call; once the input is processed, each
// call touched is asked to look again (Stream::OnUpstreamProgress), outside nghttp2.
//
// Response data is taken out of the flow-control window only when the call consumed it
// (Consume: the client side took it), so a slow client slows the upstream's stream instead
// of filling memory. Request data flows the same way: the call hands the upstream only what
// its client sent.
//
// The session ends when the upstream sends GOAWAY (its open streams finish), the
// connection breaks, or it sits without streams past the pool's idle timeout. Its calls
// hear of an end that took their stream (OnUpstreamClosed) and decide for themselves.
//
// Thread contract: owned by one worker's UpstreamPool; loop thread only.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/proxy/upstream_connection.h"

namespace proxynode {

class UpstreamPool;

// Why a stream ended without its response completing.
enum class UpstreamLoss : uint8_t {
  kNone,            // the stream closed as HTTP/2 says (error_code tells how)
  kConnectFailed,   // the connection could not be made
  kConnectTimeout,  // nor within the route's connect_timeout
  kTlsFailed,       // its TLS handshake failed, or the upstream did not agree to h2
  kBroken,          // the connection broke or the upstream broke the protocol
};

class Http2UpstreamSession final : public UpstreamConnection::User, public DeferredDeletable {
 public:
  // Streams one session carries at most, whatever the upstream allows.
  static constexpr uint32_t kMaxStreams = 100;
  // Output serialized ahead of the socket before the session stops producing.
  static constexpr size_t kMaxBufferedOutput = 256 * 1024;
  static constexpr size_t kReadChunk = 64 * 1024;

  // One call's side of a stream.
  class Stream {
   public:
    virtual ~Stream() = default;
    // A field of a response HEADERS frame: an interim (1xx) head, the final head, or the
    // trailers; the call tells them apart (nghttp2 files a final head after a 1xx as it
    // files trailers).
    virtual void OnUpstreamField(std::string_view name, std::string_view value) = 0;
    // A HEADERS frame's fields are all in.
    virtual void OnUpstreamHeaders() = 0;
    virtual void OnUpstreamData(std::string_view data) = 0;
    // The response ended (END_STREAM, after the head, data or trailers).
    virtual void OnUpstreamEnd() = 0;
    // The stream is gone: after OnUpstreamEnd when all went well.
    virtual void OnUpstreamClosed(uint32_t error_code, UpstreamLoss loss) = 0;
    // Request body for the upstream, as nghttp2's data source read callback.
    virtual ssize_t ReadRequestBody(uint8_t* buffer, size_t length, uint32_t* flags) = 0;
    // Outside nghttp2's callbacks: act on what was recorded.
    virtual void OnUpstreamProgress() = 0;
  };

  // `connection` is lent to the session for its whole life (connecting when it is).
  Http2UpstreamSession(EventLoop& loop, BufferPool& buffers, UpstreamPool& pool,
                       UpstreamConnection* connection, MonoTime connect_deadline);
  ~Http2UpstreamSession() override;
  Http2UpstreamSession(const Http2UpstreamSession&) = delete;
  Http2UpstreamSession& operator=(const Http2UpstreamSession&) = delete;

  // False when nghttp2 could not make its session (the session is already closed). `memory`:
  // the worker's allocator for nghttp2 (null: malloc).
  bool Start(nghttp2_mem* memory = nullptr);

  // Can take one more stream.
  bool accepting() const;
  size_t streams() const { return streams_.size(); }
  bool closed() const { return closed_; }
  bool tls() const { return tls_; }
  // Why its TLS handshake failed, or why the upstream would not speak h2 over it (a static
  // string); null otherwise.
  const char* tls_failure() const { return tls_failure_; }
  MonoTime idle_since() const { return idle_since_; }

  // Opens a stream for `stream` with the request head `fields` (pseudo-fields first). With
  // `has_body` the request body is read from the stream (ReadRequestBody). Returns the
  // stream id, or 0 when nghttp2 refused it.
  int32_t Submit(Stream& stream, const nghttp2_nv* fields, size_t count, bool has_body);
  // Request body came, or its end: read the stream again.
  void ResumeBody(int32_t stream_id);
  // Request trailers; only from inside ReadRequestBody, with NO_END_STREAM set.
  void SubmitTrailers(int32_t stream_id, const nghttp2_nv* fields, size_t count);
  // `bytes` of response data left towards the client: the window opens for that much.
  void Consume(int32_t stream_id, size_t bytes);
  // The call gives up on its stream (RST_STREAM `error_code`); no more callbacks for it.
  void Cancel(int32_t stream_id, uint32_t error_code);

  // Sends GOAWAY and closes once its streams are done (idle, retired).
  void Close();

  void OnUpstreamEvent() override;

  // nghttp2's callbacks reach the session through these.
  int OnHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int OnFrameReceived(const nghttp2_frame& frame);
  int OnDataChunk(int32_t stream_id, std::string_view data);
  int OnStreamClose(int32_t stream_id, uint32_t error_code);
  ssize_t ReadBody(int32_t stream_id, uint8_t* buffer, size_t length, uint32_t* flags);

 private:
  void ReadAndProcess();
  void Flush();
  // Soon, from the loop: flushes what callers queued (WINDOW_UPDATE, RST_STREAM, DATA).
  void ScheduleFlush();
  void Touch(Stream* stream);
  void NotifyTouched();
  // Ends the session: every stream left is told, the connection closes, the pool forgets it.
  void Terminate(UpstreamLoss loss);
  void Forget(int32_t stream_id);
  Stream* StreamOf(int32_t stream_id) const;
  void OnConnectTimer();
  MonoTime now() const { return loop_.now(); }

  EventLoop& loop_;
  BufferPool& buffers_;
  UpstreamPool& pool_;
  UpstreamConnection* connection_;
  nghttp2_session* session_ = nullptr;
  Buffer out_;
  Timer connect_timer_;
  Timer flush_timer_;
  struct Open {
    int32_t id;
    Stream* stream;
  };
  std::vector<Open> streams_;     // capacity kept: at most kMaxStreams
  std::vector<Stream*> touched_;  // during one input's processing
  MonoTime idle_since_ = 0;
  const char* tls_failure_ = nullptr;
  bool tls_ = false;
  bool connected_ = false;
  bool goaway_ = false;  // received or sent: no new streams
  bool closed_ = false;
};

}  // namespace proxynode
