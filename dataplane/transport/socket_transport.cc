#include "dataplane/transport/socket_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "dataplane/core/socket_ops.h"

namespace proxynode {
namespace {

// Free space asked for before each read. Less than a pool block: with bytes already in the
// block, asking for a whole block's room would grow the buffer off the pool.
constexpr size_t kReadChunk = 4 * 1024;

constexpr uint32_t kInputEvents = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr uint32_t kShutdownEvents = EPOLLRDHUP | EPOLLHUP | EPOLLERR;

}  // namespace

void SocketTransport::Register(EventLoop& loop, FileEventHandler* handler) {
  loop.AddFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, handler);
  readable_ = !connecting_;
}

void SocketTransport::Unregister(EventLoop& loop) { loop.RemoveFd(fd_); }

Readiness SocketTransport::OnEvents(uint32_t events) {
  Readiness readiness;
  if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    int error = 0;
    // A connect that failed reports EPOLLERR; writable without it is connected, and asking
    // SO_ERROR would only cost a syscall per connection.
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      socklen_t length = sizeof(error);
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
      }
    }
    if (error != EINPROGRESS && error != EALREADY) {
      connecting_ = false;
      readiness.connect_ended = true;
      readiness.connect_error = error;
    }
  }
  if ((events & EPOLLOUT) != 0 && write_blocked_) {
    write_blocked_ = false;
    readiness.writable_again = true;
  }
  if ((events & kInputEvents) != 0) {
    readable_ = true;
  }
  if ((events & kShutdownEvents) != 0) {
    peer_shut_down_ = true;  // the EOF may sit right behind the data: read until it
  }
  return readiness;
}

ReadResult SocketTransport::Read(Buffer& in, BufferPool& pool, size_t limit) {
  ReadResult result;
  while (in.size() < limit) {
    size_t available;
    char* space = in.PrepareWrite(pool, kReadChunk, &available);
    int64_t arrived = 0;
    ssize_t n = arrival_stamps_ ? ReceiveStamped(fd_, space, available, &arrived)
                                : recv(fd_, space, available, 0);
    if (n > 0) {
      auto bytes = static_cast<size_t>(n);
      in.Commit(bytes);
      result.bytes += bytes;
      if (arrived != 0) {
        result.arrived_realtime = arrived;
      }
      if (bytes < available && !peer_shut_down_) {
        // A short read drained the socket; edge-triggered epoll reports the next arrival.
        // Not so for a FIN that came with this edge: it was reported already, so read on.
        readable_ = false;
        result.status = IoStatus::kWouldBlock;
        return result;
      }
      continue;
    }
    if (n == 0) {
      readable_ = false;
      input_ended_ = true;
      result.status = IoStatus::kEof;
      return result;
    }
    if (errno == EINTR) {
      continue;
    }
    readable_ = false;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result.status = IoStatus::kWouldBlock;
    } else {
      input_ended_ = true;  // a reset: nothing more will come
      result.status = IoStatus::kError;
    }
    return result;
  }
  result.status = IoStatus::kOk;  // at the limit: the rest waits in the socket (backpressure)
  return result;
}

WriteResult SocketTransport::Write(Buffer& out, size_t limit) {
  WriteResult result;
  while (!out.empty() && result.bytes < limit) {
    std::string_view data = out.readable();
    data = data.substr(0, limit - result.bytes);
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      auto bytes = static_cast<size_t>(n);
      out.Consume(bytes);
      result.bytes += bytes;
      if (bytes < data.size()) {
        write_blocked_ = true;  // the socket buffer is full; EPOLLOUT will tell us
        result.status = IoStatus::kWouldBlock;
        return result;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      write_blocked_ = true;
      result.status = IoStatus::kWouldBlock;
      return result;
    }
    result.status = IoStatus::kError;
    return result;
  }
  result.status = IoStatus::kOk;
  return result;
}

size_t SocketTransport::DiscardInput(bool* ended) {
  char scratch[kReadChunk];
  size_t discarded = 0;
  *ended = false;
  while (true) {
    ssize_t n = recv(fd_, scratch, sizeof(scratch), 0);
    if (n > 0) {
      discarded += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    readable_ = false;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return discarded;
    }
    input_ended_ = true;
    *ended = true;  // EOF or error
    return discarded;
  }
}

void SocketTransport::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

void SocketTransport::Close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  close(fd_);  // also leaves the epoll set
}

void SocketTransport::Reset() {
  if (closed_) {
    return;
  }
  const linger abortive{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  Close();
}

void SocketTransport::EnableArrivalStamps() {
  if (!arrival_stamps_) {
    EnableArrivalTimestamps(fd_);
    arrival_stamps_ = true;
  }
}

}  // namespace proxynode
