#include "dataplane/proxy/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace proxynode {

UpstreamPool::UpstreamPool(EventLoop& loop, BufferPool& buffers, std::string address,
                           std::shared_ptr<UpstreamStats> stats, nghttp2_mem* http2_memory)
    : loop_(loop),
      buffers_(buffers),
      address_(std::move(address)),
      stats_(std::move(stats)),
      http2_memory_(http2_memory) {}

UpstreamPool::~UpstreamPool() {
  // Worker shutdown: exchanges were abandoned first and gave their connections back; the
  // gauges drop what this pool still counts.
  stats_->open_connections.Add(-static_cast<int64_t>(connections_.size()));
  stats_->idle_connections.Add(-static_cast<int64_t>(idle_.size()));
  stats_->outstanding.Add(-static_cast<int64_t>(outstanding_));
  if (tls_session_ != nullptr) {
    SSL_SESSION_free(tls_session_);
  }
}

UpstreamConnection* UpstreamPool::Acquire(const SocketAddress& address, bool fresh, bool* reused,
                                          const UpstreamTls* tls) {
  // Most recently used first; one of the other kind (TLS or not: two routes to one address)
  // stays for its own.
  for (size_t i = idle_.size(); !fresh && i > 0; --i) {
    UpstreamConnection* connection = idle_[i - 1];
    if (connection->tls() != (tls != nullptr)) {
      continue;
    }
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i - 1));
    stats_->idle_connections.Add(-1);
    if (connection->usable()) {
      *reused = true;
      stats_->reused.Add();
      return connection;
    }
    connection->Close();
  }
  *reused = false;
  int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return nullptr;
  }
  SetTcpNoDelay(fd);
  bool connecting = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) {
      int error = errno;
      close(fd);
      errno = error;
      return nullptr;
    }
    connecting = true;
  }
  SSL* ssl = nullptr;
  if (tls != nullptr) {
    ssl = tls->context->NewSession(tls->server_name, tls_session_, this);
    if (ssl == nullptr) {
      close(fd);
      errno = ENOMEM;
      return nullptr;
    }
  }
  stats_->connects.Add();
  stats_->open_connections.Add(1);
  auto owned = std::make_unique<UpstreamConnection>(loop_, buffers_, *this, fd, connecting, ssl);
  UpstreamConnection* connection = owned.get();
  connections_.emplace(connection, std::move(owned));
  return connection;
}

void UpstreamPool::Release(UpstreamConnection* connection, bool reusable) {
  connection->Return();
  if (!reusable || retired_ || idle_.size() >= kMaxIdle || !connection->usable()) {
    connection->Close();
    return;
  }
  connection->set_idle_since(loop_.now());
  connection->in().ReleaseIfEmpty(buffers_);
  idle_.push_back(connection);
  stats_->idle_connections.Add(1);
}

Http2UpstreamSession* UpstreamPool::AcquireHttp2(const SocketAddress& address,
                                                 MonoTime connect_deadline, bool* reused,
                                                 const UpstreamTls* tls) {
  // The oldest session with room first: streams gather on few connections, the rest idle
  // out.
  for (const std::unique_ptr<Http2UpstreamSession>& session : http2_sessions_) {
    if (session->accepting() && session->tls() == (tls != nullptr)) {
      *reused = true;
      stats_->reused.Add();
      return session.get();
    }
  }
  *reused = false;
  bool ignored = false;
  UpstreamConnection* connection = Acquire(address, /*fresh=*/true, &ignored, tls);
  if (connection == nullptr) {
    return nullptr;
  }
  http2_sessions_.push_back(
      std::make_unique<Http2UpstreamSession>(loop_, buffers_, *this, connection, connect_deadline));
  Http2UpstreamSession* session = http2_sessions_.back().get();
  if (!session->Start(http2_memory_)) {
    errno = ENOMEM;
    return nullptr;
  }
  return session;
}

void UpstreamPool::OnHttp2SessionClosed(Http2UpstreamSession* session) {
  auto it = std::find_if(http2_sessions_.begin(), http2_sessions_.end(),
                         [session](const std::unique_ptr<Http2UpstreamSession>& each) {
                           return each.get() == session;
                         });
  if (it == http2_sessions_.end()) {
    return;
  }
  loop_.DeferDelete(std::move(*it));
  http2_sessions_.erase(it);
}

void UpstreamPool::OnTlsEstablished(bool resumed) {
  last_tls_failure_ = nullptr;
  stats_->tls_handshakes.Add();
  if (resumed) {
    stats_->tls_resumed.Add();
  }
}

void UpstreamPool::KeepSession(SSL_SESSION* session) {
  if (tls_session_ != nullptr) {
    SSL_SESSION_free(tls_session_);
  }
  tls_session_ = session;
}

void UpstreamPool::OnConnectFailed(MonoTime now) {
  ++consecutive_failures_;
  Nanos backoff = kFirstEjection;
  for (uint32_t i = 1; i < consecutive_failures_ && backoff < kMaxEjection; ++i) {
    backoff *= 2;
  }
  ejected_until_ = now + std::min(backoff, kMaxEjection);
  stats_->ejections.Add();
}

void UpstreamPool::AddOutstanding(int delta) {
  outstanding_ = static_cast<uint32_t>(static_cast<int64_t>(outstanding_) + delta);
  stats_->outstanding.Add(delta);
}

void UpstreamPool::SetRetired(bool retired) {
  retired_ = retired;
  if (retired) {
    while (!idle_.empty()) {
      UpstreamConnection* connection = idle_.back();
      RemoveIdle(connection);
      connection->Close();
    }
    CloseHttp2Sessions(/*idle_for=*/0, loop_.now());
  }
}

void UpstreamPool::CloseStaleIdle(MonoTime now) {
  // Oldest first: the front of idle_ was used least recently.
  while (!idle_.empty() && now - idle_.front()->idle_since() >= kIdleTimeout) {
    UpstreamConnection* connection = idle_.front();
    RemoveIdle(connection);
    connection->Close();
  }
  CloseHttp2Sessions(kIdleTimeout, now);
}

void UpstreamPool::CloseHttp2Sessions(Nanos idle_for, MonoTime now) {
  // Close() may end a session at once, which erases it: walk a copy of the list.
  std::vector<Http2UpstreamSession*> idle;
  for (const std::unique_ptr<Http2UpstreamSession>& session : http2_sessions_) {
    if (session->streams() == 0 && now - session->idle_since() >= idle_for) {
      idle.push_back(session.get());
    }
  }
  for (Http2UpstreamSession* session : idle) {
    session->Close();
  }
}

void UpstreamPool::OnIdleConnectionBroken(UpstreamConnection* connection) {
  RemoveIdle(connection);
  connection->Close();
}

void UpstreamPool::RemoveIdle(UpstreamConnection* connection) {
  auto it = std::find(idle_.begin(), idle_.end(), connection);
  if (it != idle_.end()) {
    idle_.erase(it);
    stats_->idle_connections.Add(-1);
  }
}

void UpstreamPool::OnConnectionClosed(UpstreamConnection* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) {
    return;
  }
  stats_->open_connections.Add(-1);
  loop_.DeferDelete(std::move(it->second));
  connections_.erase(it);
}

}  // namespace proxynode
