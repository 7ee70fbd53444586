#pragma once

// A non-blocking TCP socket in a loop's epoll set, for client and upstream connections
// alike: edge-triggered readiness (registered once, for both directions, never modified),
// the read and write loops, a connect in progress, half-close, and the input a lingering
// close discards. It knows nothing of HTTP: the connection that owns it moves bytes between
// it and the session above (server/session.h), which never sees the socket.
//
// Readiness follows edge-triggered epoll: readable() says input (or an EOF) may be waiting
// and stays true until a read drains the socket; write_blocked() says the last write found
// the socket buffer full and stays true until an EPOLLOUT edge.
//
// Another transport (io_uring, TLS over this socket) implements the same operations
// (the ByteTransport concept below), so a connection can drive either without its session
// knowing.
//
// Size: an fd and a byte of flags, so an idle connection pays 8 bytes for its transport.
//
// Thread contract: the owning loop's thread only.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"

namespace proxynode {

// How an I/O call ended.
enum class IoStatus : uint8_t {
  kOk,          // did what was asked (filled to the limit, wrote everything)
  kWouldBlock,  // drained (read) or full (write): the next edge says when to go on
  kEof,         // the peer will send nothing more (read only)
  kError,       // reset or other error: the socket is unusable
};

struct ReadResult {
  size_t bytes = 0;
  // With arrival stamps on: when the last byte read reached this host (CLOCK_REALTIME ns),
  // 0 when the kernel gave no stamp or none was asked for.
  int64_t arrived_realtime = 0;
  IoStatus status = IoStatus::kOk;
};

struct WriteResult {
  size_t bytes = 0;
  IoStatus status = IoStatus::kOk;
};

// What an epoll event changed.
struct Readiness {
  bool writable_again = false;  // output was blocked and may go on now
  bool connect_ended = false;   // a connect in progress finished (see connect_error)
  int connect_error = 0;        // errno of a failed connect, 0 when it succeeded
};

class SocketTransport {
 public:
  // `fd`: a connected socket, or one with a connect in progress when `connecting`.
  explicit SocketTransport(int fd, bool connecting = false) : fd_(fd), connecting_(connecting) {}
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  // Joins `loop`'s epoll set; `handler` receives the events and passes them to OnEvents().
  // Bytes may have arrived before registration, so the socket starts out readable.
  void Register(EventLoop& loop, FileEventHandler* handler);
  // Leaves `loop`'s epoll set without closing the socket (a hand-over to another worker).
  void Unregister(EventLoop& loop);

  Readiness OnEvents(uint32_t events);

  // Reads into `in` until it holds at least `limit` bytes or the socket is drained.
  ReadResult Read(Buffer& in, BufferPool& pool, size_t limit);
  // Writes from `out` (consuming what left) until it is empty, `limit` bytes left (a paced
  // response), or the socket is full.
  WriteResult Write(Buffer& out, size_t limit = SIZE_MAX);
  // One read into `space` (a TCP relay's own queue): kWouldBlock when the socket is
  // drained, kEof, kError; kOk when it filled `space` (more may wait).
  ReadResult ReadSome(char* space, size_t capacity);
  // One send of `data`: kWouldBlock with the bytes taken when the socket is full.
  WriteResult WriteSome(std::string_view data);
  // Zero-copy relaying (splice(2)): moves up to `most` bytes from the socket into a pipe
  // (kWouldBlock, kEof, kError as ReadSome; kOk when the pipe took `most` or is full), and
  // from a pipe into the socket (up to `bytes`; kWouldBlock when the socket is full).
  ReadResult SpliceIn(int pipe_write_fd, size_t most);
  WriteResult SpliceOut(int pipe_read_fd, size_t bytes);
  // Lingering: reads and drops whatever arrives. Returns the bytes dropped, and sets
  // `*ended` once the peer's EOF (or an error) came.
  size_t DiscardInput(bool* ended);
  // No more output: sends FIN, keeps reading.
  void ShutdownWrite();
  // Closes the socket (which also leaves the epoll set). Idempotent.
  void Close();
  // Closes with a reset (SO_LINGER 0) instead of a FIN: a fault rule's abort.
  void Reset();
  // From the next read on, reads report when their bytes arrived (core/socket_ops.h).
  void EnableArrivalStamps();

  int fd() const { return fd_; }
  bool readable() const { return readable_; }
  bool write_blocked() const { return write_blocked_; }
  // The peer's EOF was read: nothing more will come.
  bool input_ended() const { return input_ended_; }
  // An EOF was read, or epoll reported the peer's shutdown, a hang-up or an error.
  bool peer_hung_up() const { return input_ended_ || peer_shut_down_; }
  bool connecting() const { return connecting_; }
  bool closed() const { return closed_; }
  bool arrival_stamps() const { return arrival_stamps_; }

 private:
  const int fd_;
  // Bit-fields: the transport is part of every idle connection.
  bool readable_ : 1 = false;
  bool write_blocked_ : 1 = false;
  bool input_ended_ : 1 = false;
  bool peer_shut_down_ : 1 = false;  // RDHUP/HUP/ERR reported: an EOF or error is pending
  bool connecting_ : 1;
  bool closed_ : 1 = false;
  bool arrival_stamps_ : 1 = false;
};

// The operations a connection needs from a transport: what another transport must offer to
// take SocketTransport's place.
template <typename T>
concept ByteTransport = requires(T transport, const T& view, Buffer& buffer, BufferPool& pool,
                                 bool* ended) {
  { transport.Read(buffer, pool, size_t{}) } -> std::same_as<ReadResult>;
  { transport.Write(buffer) } -> std::same_as<WriteResult>;
  { transport.DiscardInput(ended) } -> std::same_as<size_t>;
  transport.ShutdownWrite();
  transport.Close();
  { view.readable() } -> std::same_as<bool>;
  { view.write_blocked() } -> std::same_as<bool>;
  { view.input_ended() } -> std::same_as<bool>;
  { view.peer_hung_up() } -> std::same_as<bool>;
};
static_assert(ByteTransport<SocketTransport>);

}  // namespace proxynode
