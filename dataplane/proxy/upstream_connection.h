#pragma once

// One TCP connection from a worker to an upstream server: a socket transport in the
// worker's epoll set (transport/socket_transport.h), TLS over it when the route asks
// (transport/tls_channel.h, a client SSL), and the buffer its response bytes arrive in. It
// is either connecting (TLS: until its handshake is done), idle in its pool (keep-alive),
// or lent to one user (a ProxyExchange, or an HTTP/2 session for its whole life), which
// drives the I/O through the methods below, in plain bytes either way.
//
// Thread contract: owned by one worker's UpstreamPool; loop thread only.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/transport/socket_transport.h"
#include "dataplane/transport/tls_channel.h"

namespace proxynode {

class UpstreamConnection final : public FileEventHandler, public DeferredDeletable {
 public:
  // The exchange the connection is lent to.
  class User {
   public:
    virtual ~User() = default;
    // Readiness changed (connected, readable, writable, or an error is pending).
    virtual void OnUpstreamEvent() = 0;
  };

  // The pool the connection belongs to.
  class Owner {
   public:
    virtual ~Owner() = default;
    // Idle in the pool, the connection was closed by the upstream (or got bytes nobody
    // asked for).
    virtual void OnIdleConnectionBroken(UpstreamConnection* connection) = 0;
    // The socket is closed: forget the connection and defer its deletion.
    virtual void OnConnectionClosed(UpstreamConnection* connection) = 0;
    // A TLS handshake ended, `resumed` or full (stats).
    virtual void OnTlsEstablished(bool resumed) = 0;
  };

  // `fd` has a connect() in progress when `connecting`. `ssl` (taken; null: plain TCP) is a
  // client SSL: the handshake starts once the connect is done.
  UpstreamConnection(EventLoop& loop, BufferPool& buffers, Owner& owner, int fd, bool connecting,
                     SSL* ssl = nullptr);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  void OnFileEvent(uint32_t events) override;

  void Lend(User* user) { user_ = user; }
  void Return() { user_ = nullptr; }

  // Connecting, or (TLS) its handshake runs.
  bool connecting() const {
    return connect_error_ == 0 &&
           (transport_.connecting() || (tls_ != nullptr && !tls_->established()));
  }
  // The errno of a failed connect (SO_ERROR; EPROTO when the TLS handshake failed), 0 while
  // connecting or once connected.
  int connect_error() const { return connect_error_; }
  // Why the TLS handshake failed (tls_channel.h's failure()); null when it did not.
  const char* tls_failure() const { return tls_failure_; }
  bool tls() const { return tls_ != nullptr; }
  // The protocol the upstream agreed to by ALPN ("h2", "http/1.1"), empty without TLS.
  std::string_view alpn() const { return tls_ != nullptr ? tls_->alpn() : std::string_view(); }
  // An idle pooled connection that the upstream closed (or wrote to) is no longer usable.
  bool usable() const {
    return !transport_.closed() && !connecting() && connect_error_ == 0 && !peer_closed() &&
           in_.empty();
  }

  // Sends from `out`, consuming what left, until it is empty or the socket is full.
  WriteResult Send(Buffer& out) {
    return tls_ != nullptr ? tls_->Write(out) : transport_.Write(out);
  }
  // Reads into in() until it holds at least `limit` bytes or the socket is drained.
  IoStatus Receive(size_t limit);
  Buffer& in() { return in_; }
  BufferPool& buffers() { return buffers_; }
  bool readable() const { return tls_ != nullptr ? tls_->readable() : transport_.readable(); }
  // The upstream closed (EOF read, or epoll reported its shutdown or an error).
  bool peer_closed() const {
    return tls_ != nullptr ? tls_->peer_hung_up() : transport_.peer_hung_up();
  }

  // Closes the socket; the pool forgets the object and defers its deletion.
  void Close();
  bool closed() const { return transport_.closed(); }
  int fd() const { return transport_.fd(); }
  MonoTime idle_since() const { return idle_since_; }
  void set_idle_since(MonoTime time) { idle_since_ = time; }

 private:
  // Drives the TLS handshake; false while it waits on the socket.
  bool AdvanceHandshake();

  EventLoop& loop_;
  BufferPool& buffers_;
  Owner& owner_;
  SocketTransport transport_;
  std::unique_ptr<TlsChannel> tls_;
  const char* tls_failure_ = nullptr;
  User* user_ = nullptr;
  Buffer in_;
  MonoTime idle_since_ = 0;
  int connect_error_ = 0;
};

}  // namespace proxynode
