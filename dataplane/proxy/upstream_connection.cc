#include "dataplane/proxy/upstream_connection.h"

namespace proxynode {

UpstreamConnection::UpstreamConnection(EventLoop& loop, BufferPool& buffers, Owner& owner, int fd,
                                       bool connecting)
    : loop_(loop), buffers_(buffers), owner_(owner), transport_(fd, connecting) {
  transport_.Register(loop_, this);
}

UpstreamConnection::~UpstreamConnection() {
  transport_.Close();
  in_.Consume(in_.size());
  in_.ReleaseIfEmpty(buffers_);
}

void UpstreamConnection::OnFileEvent(uint32_t events) {
  if (transport_.closed()) {
    return;  // a stale event from this iteration's batch
  }
  const Readiness readiness = transport_.OnEvents(events);
  if (readiness.connect_ended) {
    connect_error_ = readiness.connect_error;
  }
  if (user_ != nullptr) {
    user_->OnUpstreamEvent();
  } else if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    // Idle in the pool: the upstream closed it (or sent bytes nobody asked for). A bare
    // EPOLLOUT edge (send buffer space freed) says nothing about its health.
    owner_.OnIdleConnectionBroken(this);
  }
}

IoStatus UpstreamConnection::Receive(size_t limit) {
  const ReadResult result = transport_.Read(in_, buffers_, limit);
  if (result.status == IoStatus::kWouldBlock) {
    in_.ReleaseIfEmpty(buffers_);
  }
  return result.status;
}

void UpstreamConnection::Close() {
  if (transport_.closed()) {
    return;
  }
  transport_.Close();
  user_ = nullptr;
  owner_.OnConnectionClosed(this);
}

}  // namespace proxynode
