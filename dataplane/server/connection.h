#pragma once

// One client connection: its socket transport (transport/socket_transport.h), its history
// (id, requests, bytes), and its lifecycle across workers. What the connection speaks is its
// session's (session.h: HTTP/1 today), lent from the worker's pool while there is something
// to do.
//
// Lifecycle:
//   kOpen       without a session it is idle (keep-alive): in the worker's IdleConnections
//               list, whose one timer closes it after idle_timeout, and it may move to
//               another worker as it is; with one, the session is reading, waiting or writing
//   kLingering  final response sent, write side shut; input discarded until the peer's EOF
//               or kLingerTimeout, so the client sees the response instead of a reset
//   kClosed     fd closed; the object waits for deferred deletion
//
// Memory: an idle connection is this object (about 120 bytes) and nothing else.
//
// Thread contract: owned by one worker; every method runs in that worker's loop thread.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/server/idle_connections.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"
#include "dataplane/transport/socket_transport.h"
#include "dataplane/transport/tls_channel.h"

namespace proxynode {

// What moves with a connection from one worker to another (worker retirement, CPU-local
// steering): the socket and its history, its id included, so ListConnections shows the same
// connection before and after. Only idle connections move, so no request state travels.
struct ConnectionHandover {
  int fd = -1;
  uint64_t id = 0;  // 0: accepted a moment ago and never served (its adopter gives it one)
  bool holds_slot = false;
  MonoTime accepted_at = 0;
  uint64_t requests_served = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint32_t paced_rate = 0;  // a fault rule's bandwidth for the rest of the connection
  // A TLS connection: its established SSL (TlsChannel::Release), null without TLS. Whoever
  // drops a handover frees it.
  SSL* tls = nullptr;
};

// One row of ListConnections.
struct ConnectionInfo {
  uint64_t id = 0;
  int worker = 0;
  std::string peer;
  MonoTime accepted_at = 0;
  uint64_t requests_served = 0;
  std::string_view state;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  // A TCP relay: its proxy and upstream; empty for HTTP.
  std::string tcp_proxy = {};
  std::string upstream = {};
  // "http/1.1", "h2c" or "h2" (over TLS); empty for a TCP relay.
  std::string_view protocol = {};
  // "TLSv1.3" and the like; empty in clear.
  std::string_view tls_version = {};
};

class Connection final : public FileEventHandler,
                         public DeferredDeletable,
                         public SessionHost,
                         public IdleListEntry {
 public:
  // As ListConnections shows it.
  enum class State : uint8_t {
    kIdle,
    kReadingHead,
    kReadingBody,
    kWaiting,
    kWriting,
    kLingering,
    kClosed
  };
  static std::string_view StateName(State state);

  // CPU-local mode: an idle connection checks the CPU its packets arrive on after every this
  // many requests (and moves to the worker on that CPU).
  static constexpr uint64_t kCpuCheckInterval = 32;
  // How long a lingering close waits for the client's FIN.
  static constexpr Nanos kLingerTimeout = 2 * kSecond;
  // A request's arrival stamp is believed up to this far back (a realtime clock step could
  // make it anything).
  static constexpr Nanos kMaxArrivalAge = kSecond;

  // `holds_slot`: the connection took one of Admission's connection slots.
  Connection(WorkerContext& context, int fd, uint64_t id, bool holds_slot);
  // A connection adopted from another worker, keeping its history.
  Connection(WorkerContext& context, uint64_t id, const ConnectionHandover& handover);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Speaks TLS from its first byte, with `ssl` (TlsServerContext::NewSession): the handshake
  // comes first, bounded by header_timeout. Call before Start.
  void UseTls(SSL* ssl);
  // Registers with the loop and serves.
  void Start();
  // Answers `status` (503 over the connection limit) with Connection: close and
  // Retry-After, then closes with a lingering close; no request is read.
  void StartRejected(int status, uint32_t retry_after_seconds);
  // The node is draining: close now if idle, else after the responses owed.
  void BeginDrain();
  // Its worker retires and the connection is busy: an HTTP/2 one says it takes no more
  // streams (an HTTP/1 one moves once idle).
  void BeginRetire();
  // Closes at once (drain deadline passed).
  void Abort();
  // A new config is current: a shortened header or idle timeout applies from now on.
  void OnConfigChanged();
  // Idle only: leaves this worker's epoll set without closing the socket, and returns what
  // the adopting worker needs. The object is then closed (deferred deletion).
  ConnectionHandover Detach();
  ConnectionInfo Describe(int worker) const;
  // For IdleConnections: an idle connection past its idle_timeout.
  static void ExpireIdle(IdleListEntry& entry);

  void OnFileEvent(uint32_t events) override;

  // SessionHost: what the session asks of its connection.
  bool readable() const override {
    return tls_ != nullptr ? tls_->channel->readable() : transport_.readable();
  }
  bool input_ended() const override {
    return tls_ != nullptr ? tls_->channel->input_ended() : transport_.input_ended();
  }
  bool peer_hung_up() const override {
    return tls_ != nullptr ? tls_->channel->peer_hung_up() : transport_.peer_hung_up();
  }
  bool write_blocked() const override { return transport_.write_blocked(); }
  bool closed() const override { return lifecycle_ == Lifecycle::kClosed; }
  Input ReadInput(Buffer& in, size_t limit) override;
  void WriteOutput(Buffer& out, size_t limit) override;
  bool EndOutput(bool input_left, bool silent) override;
  void Close(CloseReason reason) override;
  void EnableArrivalStamps() override { transport_.EnableArrivalStamps(); }
  uint64_t CountRequest() override { return ++requests_served_; }
  MonoTime last_activity() const override { return IdleListEntry::last_activity; }
  SocketAddress peer() const override { return PeerAddress(transport_.fd()); }
  std::string_view tls_version() const override;
  void OnSessionAtRest() override;
  void SwitchToHttp2(std::string_view input, const Http2Upgrade* upgrade) override;
  uint64_t paced_rate() const override { return paced_rate_; }
  void set_paced_rate(uint64_t bytes_per_second) override {
    paced_rate_ = static_cast<uint32_t>(std::min<uint64_t>(bytes_per_second, UINT32_MAX));
  }

  uint64_t id() const { return id_; }
  int fd() const { return transport_.fd(); }
  State state() const;
  MonoTime accepted_at() const { return accepted_at_; }
  uint64_t requests_served() const { return requests_served_; }
  // Idle and holding nothing: it can close or move to another worker as it is. Not while
  // its TLS handshake runs: that state stays with the worker that accepted it.
  bool idle() const {
    return lifecycle_ == Lifecycle::kOpen && session_ == nullptr && !handshaking();
  }
  bool handshaking() const { return tls_ != nullptr && !tls_->channel->established(); }

 private:
  enum class Lifecycle : uint8_t { kOpen, kLingering, kClosed };
  // A TLS connection's channel, and its handshake's deadline until it is done.
  struct Tls {
    std::unique_ptr<TlsChannel> channel;
    std::optional<Timer> handshake_deadline;
  };

  // Drives the TLS handshake; once done, the session starts on what arrived.
  void AdvanceHandshake();
  void OnHandshakeTimeout();

  // Takes a session from the pool (leaving the idle list) if none is held.
  void Activate();
  // Clears the session and gives it back to the pool.
  void ReturnSession();
  void DiscardInput();
  // Closes the fd and returns every slot and counter; no owner callback.
  void ReleaseResources();
  MonoTime now() const { return context_.loop.now(); }

  // First: they fit in IdleListEntry's tail padding (an idle connection's size counts).
  Lifecycle lifecycle_ = Lifecycle::kOpen;
  bool holds_slot_;
  // Bytes per second a fault rule set for the rest of this connection (0: none), kept while
  // the connection is idle and holds no session.
  uint32_t paced_rate_ = 0;
  WorkerContext& context_;
  const uint64_t id_;
  MonoTime accepted_at_;
  uint64_t requests_served_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  // Null while idle: taken from the worker's pool when bytes arrive, given back when the
  // connection turns idle (an HTTP/2 session stays until the connection closes).
  std::unique_ptr<Session> session_;
  std::unique_ptr<Tls> tls_;  // null in clear: 8 bytes for a connection without TLS
  SocketTransport transport_;
};

}  // namespace proxynode
