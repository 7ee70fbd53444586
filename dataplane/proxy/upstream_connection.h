#pragma once

// One TCP connection from a worker to an upstream server: a socket transport in the
// worker's epoll set (transport/socket_transport.h) and the buffer its response bytes
// arrive in. It is either connecting, idle in its pool (keep-alive), or lent to one
// ProxyExchange, which drives the I/O through the methods below.
//
// Thread contract: owned by one worker's UpstreamPool; loop thread only.

#include <cstdint>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/transport/socket_transport.h"

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
  };

  // `fd` has a connect() in progress when `connecting`.
  UpstreamConnection(EventLoop& loop, BufferPool& buffers, Owner& owner, int fd, bool connecting);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  void OnFileEvent(uint32_t events) override;

  void Lend(User* user) { user_ = user; }
  void Return() { user_ = nullptr; }

  bool connecting() const { return transport_.connecting(); }
  // The errno of a failed connect (SO_ERROR), 0 while connecting or once connected.
  int connect_error() const { return connect_error_; }
  // An idle pooled connection that the upstream closed (or wrote to) is no longer usable.
  bool usable() const {
    return !transport_.closed() && !transport_.connecting() && !transport_.peer_hung_up() &&
           in_.empty();
  }

  // Sends from `out`, consuming what left, until it is empty or the socket is full.
  WriteResult Send(Buffer& out) { return transport_.Write(out); }
  // Reads into in() until it holds at least `limit` bytes or the socket is drained.
  IoStatus Receive(size_t limit);
  Buffer& in() { return in_; }
  BufferPool& buffers() { return buffers_; }
  bool readable() const { return transport_.readable(); }
  // The upstream closed (EOF read, or epoll reported its shutdown or an error).
  bool peer_closed() const { return transport_.peer_hung_up(); }

  // Closes the socket; the pool forgets the object and defers its deletion.
  void Close();
  bool closed() const { return transport_.closed(); }
  int fd() const { return transport_.fd(); }
  MonoTime idle_since() const { return idle_since_; }
  void set_idle_since(MonoTime time) { idle_since_ = time; }

 private:
  EventLoop& loop_;
  BufferPool& buffers_;
  Owner& owner_;
  SocketTransport transport_;
  User* user_ = nullptr;
  Buffer in_;
  MonoTime idle_since_ = 0;
  int connect_error_ = 0;
};

}  // namespace proxynode
