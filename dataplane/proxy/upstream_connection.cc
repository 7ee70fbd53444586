#include "dataplane/proxy/upstream_connection.h"

#include <cerrno>

namespace proxynode {

namespace {

// What an idle TLS connection reads to tell a session ticket (fine) from a response or a
// close (broken).
constexpr size_t kIdleProbe = 1;

}  // namespace

UpstreamConnection::UpstreamConnection(EventLoop& loop, BufferPool& buffers, Owner& owner, int fd,
                                       bool connecting, SSL* ssl)
    : loop_(loop), buffers_(buffers), owner_(owner), transport_(fd, connecting) {
  transport_.Register(loop_, this);
  if (ssl != nullptr) {
    tls_ = std::make_unique<TlsChannel>(ssl, transport_, TlsChannel::Role::kClient);
    if (!transport_.connecting()) {
      AdvanceHandshake();  // connected at once (loopback): the ClientHello goes now
    }
  }
}

UpstreamConnection::~UpstreamConnection() {
  if (tls_ != nullptr && !transport_.closed()) {
    tls_->SendCloseNotify();  // see Close()
  }
  tls_.reset();  // before the socket it writes through
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
  if (tls_ != nullptr && connect_error_ == 0 && !transport_.connecting() && !tls_->established() &&
      !AdvanceHandshake()) {
    return;  // the handshake waits on the socket: nothing for the user yet
  }
  if (user_ != nullptr) {
    user_->OnUpstreamEvent();
  } else if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    if (tls_ != nullptr && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0 &&
        Receive(kIdleProbe) == IoStatus::kWouldBlock && in_.empty()) {
      return;  // a TLS 1.3 session ticket after the handshake, not a response
    }
    // Idle in the pool: the upstream closed it (or sent bytes nobody asked for). A bare
    // EPOLLOUT edge (send buffer space freed) says nothing about its health.
    owner_.OnIdleConnectionBroken(this);
  }
}

bool UpstreamConnection::AdvanceHandshake() {
  switch (tls_->Advance()) {
    case TlsChannel::Handshake::kDone:
      owner_.OnTlsEstablished(tls_->resumed());
      return true;
    case TlsChannel::Handshake::kWantIo:
      return false;
    case TlsChannel::Handshake::kFailed:
      connect_error_ = EPROTO;  // the user sees a failed connect
      tls_failure_ = tls_->failure();
      return true;
  }
  return true;
}

IoStatus UpstreamConnection::Receive(size_t limit) {
  if (tls_ != nullptr) {
    const ReadResult result = tls_->Read(in_, buffers_, limit);
    return result.status;
  }
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
  if (tls_ != nullptr) {
    // A clean end: OpenSSL keeps a session resumable only when its connection said
    // close_notify (one closed without it is marked not to be resumed).
    tls_->SendCloseNotify();
  }
  transport_.Close();
  user_ = nullptr;
  owner_.OnConnectionClosed(this);
}

}  // namespace proxynode
