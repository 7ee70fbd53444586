#include "dataplane/proxy/upstream_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "dataplane/proxy/upstream_pool.h"

namespace proxynode {
namespace {
// Free space asked for before each read. Less than a pool block: with a response's bytes
// already in the block, asking for a whole block's room grew the buffer off the pool (an
// allocation and a copy per proxied response).
constexpr size_t kReadChunk = 4 * 1024;
}  // namespace

UpstreamConnection::UpstreamConnection(EventLoop& loop, BufferPool& buffers, UpstreamPool& pool,
                                       int fd, bool connecting)
    : loop_(loop), buffers_(buffers), pool_(pool), fd_(fd), connecting_(connecting) {
  loop_.AddFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
}

UpstreamConnection::~UpstreamConnection() {
  if (!closed_) {
    close(fd_);
  }
  in_.Consume(in_.size());
  in_.ReleaseIfEmpty(buffers_);
}

void UpstreamConnection::OnFileEvent(uint32_t events) {
  if (closed_) {
    return;  // a stale event from this iteration's batch
  }
  if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
      error = errno;
    }
    if (error != EINPROGRESS && error != EALREADY) {
      connecting_ = false;
      connect_error_ = error;
    }
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    readable_ = true;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    peer_closed_ = true;
  }
  if (user_ != nullptr) {
    user_->OnUpstreamEvent();
  } else if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    // Idle in the pool: the upstream closed it (or sent bytes nobody asked for). A bare
    // EPOLLOUT edge (send buffer space freed) says nothing about its health.
    pool_.OnIdleConnectionBroken(this);
  }
}

size_t UpstreamConnection::Send(std::string_view data, IoResult* result) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    *result = (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? IoResult::kWouldBlock
                                                                   : IoResult::kError;
    return sent;
  }
  *result = IoResult::kOk;
  return sent;
}

UpstreamConnection::IoResult UpstreamConnection::Receive(size_t limit) {
  while (in_.size() < limit) {
    size_t available;
    char* space = in_.PrepareWrite(buffers_, kReadChunk, &available);
    ssize_t n = recv(fd_, space, available, 0);
    if (n > 0) {
      in_.Commit(static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      readable_ = false;
      peer_closed_ = true;
      return IoResult::kEof;
    }
    if (errno == EINTR) {
      continue;
    }
    readable_ = false;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      in_.ReleaseIfEmpty(buffers_);
      return IoResult::kWouldBlock;
    }
    peer_closed_ = true;  // a reset: nothing more will come
    return IoResult::kError;
  }
  return IoResult::kOk;  // full: the rest waits in the socket (backpressure)
}

void UpstreamConnection::Close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  close(fd_);  // also leaves the epoll set
  user_ = nullptr;
  pool_.OnConnectionClosed(this);
}

}  // namespace proxynode
