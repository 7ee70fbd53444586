#pragma once

// One TCP connection from a worker to an upstream server: a non-blocking socket in the
// worker's epoll set (edge-triggered, registered once) and the buffer its response bytes
// arrive in. It is either connecting, idle in its pool (keep-alive), or lent to one
// ProxyExchange, which drives the I/O through the methods below.
//
// Thread contract: owned by one worker's UpstreamPool; loop thread only.

#include <cstdint>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"

namespace proxynode {

class UpstreamPool;

class UpstreamConnection final : public FileEventHandler, public DeferredDeletable {
 public:
  // The exchange the connection is lent to.
  class User {
   public:
    virtual ~User() = default;
    // Readiness changed (connected, readable, writable, or an error is pending).
    virtual void OnUpstreamEvent() = 0;
  };

  enum class IoResult : uint8_t { kOk, kWouldBlock, kEof, kError };

  // `fd` has a connect() in progress when `connecting`.
  UpstreamConnection(EventLoop& loop, BufferPool& buffers, UpstreamPool& pool, int fd,
                     bool connecting);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  void OnFileEvent(uint32_t events) override;

  void Lend(User* user) { user_ = user; }
  void Return() { user_ = nullptr; }

  bool connecting() const { return connecting_; }
  // The errno of a failed connect (SO_ERROR), 0 while connecting or once connected.
  int connect_error() const { return connect_error_; }
  // An idle pooled connection that the upstream closed (or wrote to) is no longer usable.
  bool usable() const { return !closed_ && !connecting_ && !peer_closed_ && in_.empty(); }

  // Sends from `data`; returns bytes taken (all, some, or 0 with kWouldBlock/kError).
  size_t Send(std::string_view data, IoResult* result);
  // Reads into in() until it holds at least `limit` bytes or the socket is drained.
  IoResult Receive(size_t limit);
  Buffer& in() { return in_; }
  BufferPool& buffers() { return buffers_; }
  bool readable() const { return readable_; }
  bool peer_closed() const { return peer_closed_; }

  // Closes the socket; the pool forgets the object and defers its deletion.
  void Close();
  bool closed() const { return closed_; }
  int fd() const { return fd_; }
  MonoTime idle_since() const { return idle_since_; }
  void set_idle_since(MonoTime time) { idle_since_ = time; }

 private:
  EventLoop& loop_;
  BufferPool& buffers_;
  UpstreamPool& pool_;
  const int fd_;
  User* user_ = nullptr;
  Buffer in_;
  MonoTime idle_since_ = 0;
  int connect_error_ = 0;
  bool connecting_;
  bool readable_ = false;     // edge-triggered: data (or EOF) may be waiting
  bool peer_closed_ = false;  // read EOF, or epoll reported HUP/RDHUP
  bool closed_ = false;
};

}  // namespace proxynode
