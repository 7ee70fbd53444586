#pragma once

// The seam between a client connection and the protocol it speaks.
//
//   Connection (connection.h)    the socket transport, the connection's history and
//        |                       lifecycle: idle list, hand-over, lingering, close
//        | Session                 <- the connection drives the session
//        v
//   Http1Session (http1_session.h) parsing, the response queue and its delays, proxying,
//        |                       serialization
//   Http2Session (http2_session.h) the same for HTTP/2 streams, on libnghttp2
//        | SessionHost
//        v                     <- the session reaches its socket only through its host
//   Connection
//
// A session is lent from the worker's pool when a connection's first byte arrives and given
// back when the connection is idle again (session_pool.h), so an idle connection holds none.
// An HTTP/1 session that sees HTTP/2 begin hands the connection to an HTTP/2 session, which
// stays until the connection closes (its HPACK state lives as long).
//
// Thread contract: both sides live in one worker's loop thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/socket_ops.h"

namespace proxynode {

// kFaultReset: a fault rule's abort closes with a TCP reset.
enum class CloseReason : uint8_t {
  kNormal,
  kPeerClosed,
  kIoError,
  kIdleTimeout,
  kDrain,
  kFaultReset
};

// What a connection speaks.
enum class SessionProtocol : uint8_t { kHttp1, kHttp2 };

struct Http2Upgrade;

// What a session is doing, as ListConnections shows it.
enum class SessionPhase : uint8_t {
  kAtRest,       // nothing buffered, owed or running: the connection may go idle
  kReadingHead,  // part of a request head has arrived
  kReadingBody,  // a request body is arriving
  kWaiting,      // every request read waits on its delay or its upstream
};

// What the connection does for its session.
class SessionHost {
 public:
  struct Input {
    size_t bytes = 0;
    MonoTime arrived_at = 0;  // when the last bytes reached this host; 0: not known
  };

  virtual ~SessionHost() = default;
  // Input (or an EOF) may be waiting in the socket.
  virtual bool readable() const = 0;
  // The peer's EOF was read: nothing more will come.
  virtual bool input_ended() const = 0;
  // The peer shut down its side or reset (epoll said so, or its EOF was read), even if
  // bytes sent before are still unread.
  virtual bool peer_hung_up() const = 0;
  // The last write found the socket full; the connection calls Progress(true) when it frees.
  virtual bool write_blocked() const = 0;
  virtual bool closed() const = 0;
  // Reads into `in` until it holds `limit` bytes or the socket is drained; closes the
  // connection on a socket error (closed() tells).
  virtual Input ReadInput(Buffer& in, size_t limit) = 0;
  // Writes `out` until it is empty, `limit` bytes left, or the socket is full; closes on a
  // socket error.
  virtual void WriteOutput(Buffer& out, size_t limit) = 0;
  // The session will write nothing more: close now when the peer is gone too (`input_left`
  // false and its EOF read), else half-close and linger until the peer's EOF, calling the
  // session's ArmLingerTimeout first. True when it lingers. `silent` (a fault rule's silent
  // abort): no FIN either; the connection waits for the peer's EOF up to the idle timeout.
  virtual bool EndOutput(bool input_left, bool silent) = 0;
  virtual void Close(CloseReason reason) = 0;
  // From the next read on, input reports when it arrived (a delayed request was seen).
  virtual void EnableArrivalStamps() = 0;
  // Counts a request parsed on this connection; returns the count so far, this one included.
  virtual uint64_t CountRequest() = 0;
  virtual MonoTime last_activity() const = 0;
  virtual SocketAddress peer() const = 0;
  // The TLS version in use ("TLSv1.3", a static string), empty in clear.
  virtual std::string_view tls_version() const = 0;
  // A fault rule's bandwidth for the rest of the connection (bytes per second, 0: none); it
  // outlives the session lent to the connection.
  virtual uint64_t paced_rate() const = 0;
  virtual void set_paced_rate(uint64_t bytes_per_second) = 0;
  // The session is at rest: the connection goes idle (and may give the session back, hand
  // itself over or close). The session must not touch itself after this call.
  virtual void OnSessionAtRest() = 0;
  // The client speaks HTTP/2 from here on: `input` is what was read past the HTTP/1 part,
  // `upgrade` the request that asked for h2c (null: prior knowledge). The calling session is
  // given back to its pool, so it must not touch itself after this call.
  virtual void SwitchToHttp2(std::string_view input, const Http2Upgrade* upgrade) = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  // The connection started or was woken: read, parse and answer until nothing more can
  // happen now. `writable_again`: output that was blocked may go on.
  virtual void Progress(bool writable_again) = 0;
  // The connection is over its limit: answer `status` with Retry-After and close.
  virtual void Reject(int status, uint32_t retry_after_seconds) = 0;
  // A new config is current: shortened timeouts apply from now on.
  virtual void OnConfigChanged() = 0;
  // The connection started lingering: close after `deadline` if the peer says nothing.
  virtual void ArmLingerTimeout(MonoTime deadline) = 0;
  // The node drains, or the worker retires, while this session is busy: a session that
  // outlives its requests (HTTP/2) says it takes no more. HTTP/1 ends after what it owes.
  virtual void BeginDrain() {}
  // The connection is closing: gives back every slot, exchange and timer (no callback to the
  // host follows). Buffers keep their bytes until Clear().
  virtual void Abandon() = 0;
  // Back to a pristine state for the pool: empty buffers without storage, empty queue.
  virtual void Clear() = 0;
  virtual SessionPhase phase() const = 0;
  virtual SessionProtocol protocol() const = 0;
};

}  // namespace proxynode
