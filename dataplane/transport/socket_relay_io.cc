// SocketTransport's single-call reads and writes and its splice(2) moves: the TCP relay's
// I/O (relay/tcp_relay.h), which moves bytes between two sockets rather than into requests.

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "dataplane/transport/socket_transport.h"

namespace proxynode {
namespace {

// A read that failed: drained, or the end of the input (an error counts as one).
ReadResult FailedRead(int error, bool& readable, bool& input_ended) {
  ReadResult result;
  readable = false;
  if (error == EAGAIN || error == EWOULDBLOCK) {
    result.status = IoStatus::kWouldBlock;
  } else {
    input_ended = true;
    result.status = IoStatus::kError;
  }
  return result;
}

}  // namespace

ReadResult SocketTransport::ReadSome(char* space, size_t capacity) {
  while (true) {
    ssize_t n = recv(fd_, space, capacity, 0);
    if (n > 0) {
      ReadResult result;
      result.bytes = static_cast<size_t>(n);
      if (result.bytes < capacity && !peer_shut_down_) {
        readable_ = false;  // drained; the next edge reports more
        result.status = IoStatus::kWouldBlock;
      }
      return result;
    }
    if (n == 0) {
      readable_ = false;
      input_ended_ = true;
      ReadResult result;
      result.status = IoStatus::kEof;
      return result;
    }
    if (errno != EINTR) {
      bool readable = readable_;
      bool ended = input_ended_;
      ReadResult result = FailedRead(errno, readable, ended);
      readable_ = readable;
      input_ended_ = ended;
      return result;
    }
  }
}

WriteResult SocketTransport::WriteSome(std::string_view data) {
  WriteResult result;
  while (true) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      result.bytes = static_cast<size_t>(n);
      if (result.bytes < data.size()) {
        write_blocked_ = true;
        result.status = IoStatus::kWouldBlock;
      }
      return result;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      write_blocked_ = true;
      result.status = IoStatus::kWouldBlock;
    } else {
      result.status = IoStatus::kError;
    }
    return result;
  }
}

ReadResult SocketTransport::SpliceIn(int pipe_write_fd, size_t most) {
  while (true) {
    ssize_t n =
        splice(fd_, nullptr, pipe_write_fd, nullptr, most, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      ReadResult result;
      result.bytes = static_cast<size_t>(n);
      return result;  // kOk: maybe more; the caller splices again until it blocks
    }
    if (n == 0) {
      readable_ = false;
      input_ended_ = true;
      ReadResult result;
      result.status = IoStatus::kEof;
      return result;
    }
    if (errno == EINTR) continue;
    // EAGAIN is the socket drained, or the pipe full; the caller only splices into a pipe
    // with room, so it means the socket.
    bool readable = readable_;
    bool ended = input_ended_;
    ReadResult result = FailedRead(errno, readable, ended);
    readable_ = readable;
    input_ended_ = ended;
    return result;
  }
}

WriteResult SocketTransport::SpliceOut(int pipe_read_fd, size_t bytes) {
  WriteResult result;
  while (result.bytes < bytes) {
    ssize_t n = splice(pipe_read_fd, nullptr, fd_, nullptr, bytes - result.bytes,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      result.bytes += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      write_blocked_ = true;
      result.status = IoStatus::kWouldBlock;
    } else {
      result.status = IoStatus::kError;
    }
    return result;
  }
  return result;
}

}  // namespace proxynode
