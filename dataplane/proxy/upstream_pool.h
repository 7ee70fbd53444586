#pragma once

// One worker's connections to one upstream address: a keep-alive pool (most recently used
// first, so a few warm connections carry the load and the rest time out), the count of
// requests in flight for least-outstanding balancing, and passive health: a failed connect
// ejects the upstream for a back-off that doubles with each consecutive failure.
//
// Thread contract: loop thread of the owning worker only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/proxy/http2_upstream_session.h"
#include "dataplane/proxy/upstream_connection.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/transport/tls_client_context.h"

namespace proxynode {

// TLS to an upstream, as its route asks: the client context (the route's, in the pinned
// snapshot) and the name to ask for and check.
struct UpstreamTls {
  const TlsClientContext* context = nullptr;
  std::string_view server_name;
};

class UpstreamPool final : public UpstreamConnection::Owner, public TlsSessionKeeper {
 public:
  static constexpr Nanos kFirstEjection = kSecond;
  static constexpr Nanos kMaxEjection = 30 * kSecond;
  // Idle pooled connections kept per worker and upstream; more are closed on release.
  static constexpr size_t kMaxIdle = 256;
  // A pooled connection unused this long is closed (upstreams commonly drop idle ones
  // after 60 s or more; closing first avoids sending into a connection being closed).
  static constexpr Nanos kIdleTimeout = 30 * kSecond;

  UpstreamPool(EventLoop& loop, BufferPool& buffers, std::string address,
               std::shared_ptr<UpstreamStats> stats, nghttp2_mem* http2_memory = nullptr);
  ~UpstreamPool() override;
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // A pooled connection, or a new one with its connect in progress (`*reused` says which);
  // null with errno set when the socket could not even be created or connect failed at once.
  // `fresh` skips the pool (a retry after a pooled connection turned out closed). With `tls`
  // the connection is TLS (a pooled one only if it is too), resuming the pool's last session.
  UpstreamConnection* Acquire(const SocketAddress& address, bool fresh, bool* reused,
                              const UpstreamTls* tls = nullptr);
  // Back into the pool when `reusable` (the exchange ended cleanly on a keep-alive
  // response), else closed.
  void Release(UpstreamConnection* connection, bool reusable);

  // HTTP/2 (h2c): a session with room for one more stream (`*reused`), or a new one whose
  // connect is in progress, bounded by `connect_deadline`; null with errno set when the
  // socket could not be made.
  Http2UpstreamSession* AcquireHttp2(const SocketAddress& address, MonoTime connect_deadline,
                                     bool* reused, const UpstreamTls* tls = nullptr);
  // The session ended: forgotten now, deleted after this loop iteration.
  void OnHttp2SessionClosed(Http2UpstreamSession* session);

  void OnConnectFailed(MonoTime now);
  void OnConnectSucceeded() { consecutive_failures_ = 0; }
  bool ejected(MonoTime now) const { return now < ejected_until_; }
  MonoTime ejected_until() const { return ejected_until_; }

  // Requests in flight on this worker (least-outstanding balancing).
  uint32_t outstanding() const { return outstanding_; }
  void AddOutstanding(int delta);

  // No longer in the config: idle connections close now, busy ones when released.
  void SetRetired(bool retired);
  bool retired() const { return retired_; }
  // Closes pooled connections idle for longer than kIdleTimeout.
  void CloseStaleIdle(MonoTime now);

  void OnIdleConnectionBroken(UpstreamConnection* connection) override;
  void OnConnectionClosed(UpstreamConnection* connection) override;
  void OnTlsEstablished(bool resumed) override;
  void KeepSession(SSL_SESSION* session) override;
  // Why the last TLS handshake with this upstream failed (a static string), null when the
  // last one did not: what a failed request's answer names.
  const char* last_tls_failure() const { return last_tls_failure_; }
  void set_last_tls_failure(const char* failure) { last_tls_failure_ = failure; }

  const std::string& address() const { return address_; }
  UpstreamStats& stats() { return *stats_; }
  size_t open_connections() const { return connections_.size(); }
  size_t idle_connections() const { return idle_.size(); }
  size_t http2_sessions() const { return http2_sessions_.size(); }

 private:
  void RemoveIdle(UpstreamConnection* connection);
  // HTTP/2 sessions without streams for `idle_for` or longer.
  void CloseHttp2Sessions(Nanos idle_for, MonoTime now);

  EventLoop& loop_;
  BufferPool& buffers_;
  const std::string address_;
  std::shared_ptr<UpstreamStats> stats_;
  nghttp2_mem* const http2_memory_;  // the worker's, for HTTP/2 sessions (null: malloc)
  absl::flat_hash_map<UpstreamConnection*, std::unique_ptr<UpstreamConnection>> connections_;
  std::vector<UpstreamConnection*> idle_;  // most recently used at the back
  // After connections_: destroyed first, while their connections still exist.
  std::vector<std::unique_ptr<Http2UpstreamSession>> http2_sessions_;
  MonoTime ejected_until_ = 0;
  uint32_t consecutive_failures_ = 0;
  uint32_t outstanding_ = 0;
  bool retired_ = false;
  SSL_SESSION* tls_session_ = nullptr;  // the last one a handshake gave, to resume
  const char* last_tls_failure_ = nullptr;
};

}  // namespace proxynode
