#include "dataplane/server/worker.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <vector>

#include "dataplane/core/socket_ops.h"
#include "dataplane/server/accept_share.h"
#include "dataplane/server/admission.h"

namespace proxynode {

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      pool_(loop_, kBufferBlocksKept),
      snapshots_(options_.config),
      sessions_(loop_),
      idle_(loop_, snapshots_, &Connection::ExpireIdle),
      context_{loop_,      pool_, sessions_,         idle_, *options_.stats,
               snapshots_, date_, *options_.handler, *this},
      listener_(loop_, options_.listen_fd, options_.exclusive_accept, *options_.stats,
                [this](int fd) { Accept(fd, /*tls=*/false); }),
      share_timer_(loop_.timers(), [this] { OnAcceptShareTimer(); }) {
  pool_.ReportInUseTo(&options_.stats->buffer_blocks_in_use);
  context_.http2_memory = &http2_memory_;
  // A data worker has both; the admin listener neither.
  assert((options_.admission == nullptr) == (options_.proxy_stats == nullptr));
  if (options_.admission != nullptr && options_.proxy_stats != nullptr) {
    upstreams_ = std::make_unique<UpstreamPools>(loop_, pool_, *options_.proxy_stats,
                                                 options_.index, http2_memory_.mem());
    proxy_context_ = std::make_unique<ProxyContext>(ProxyContext{loop_, pool_, date_, *upstreams_});
    exchanges_ = std::make_unique<ProxyExchangePool>(*proxy_context_);
    faults_ = std::make_unique<WorkerFaults>(options_.index, options_.proxy_stats);
    serving_ = std::make_unique<ServingContext>(
        ServingContext{*options_.admission, *upstreams_, *exchanges_, *faults_});
    context_.serving = serving_.get();
    if (options_.access_log != nullptr) {
      access_ = std::make_unique<AccessRecorder>(options_.access_log);
      context_.access = access_.get();
    }
    if (options_.tcp_proxy_stats != nullptr) {
      tcp_proxies_ = std::make_unique<TcpProxyHost>(
          TcpProxyHost::Options{.worker_index = options_.index,
                                .loop = &loop_,
                                .pool = &pool_,
                                .worker_stats = options_.stats.get(),
                                .admission = options_.admission,
                                .shared_pacers = options_.shared_pacers,
                                .stats = options_.tcp_proxy_stats,
                                .next_id = [this] { return NextConnectionId(); }});
      tcp_proxies_->set_on_relay_closed([this] { UpdateDrained(); });
      tcp_proxies_->set_on_accepted([this] { CheckAcceptShare(); });
    }
  }
  if (options_.cpu >= 0) {
    context_.cpu = options_.cpu;
  }
  if (options_.tls_listen_fd >= 0 && options_.tls != nullptr) {
    tls_listener_.emplace(loop_, options_.tls_listen_fd, options_.exclusive_accept, *options_.stats,
                          [this](int fd) { Accept(fd, /*tls=*/true); });
  }
}

void Worker::EnableListeners() {
  listener_.Enable();
  if (tls_listener_) {
    tls_listener_->Enable();
  }
}

void Worker::DisableListeners() {
  listener_.Disable();
  if (tls_listener_) {
    tls_listener_->Disable();
  }
}

Worker::~Worker() { StopAndJoin(); }

void Worker::Start() {
  // Queued before the thread exists, so it runs before any task posted later, StopAndJoin's
  // teardown included: a worker stopped at once never starts listening after its teardown.
  loop_.Post([this] {
    if (upstreams_ != nullptr) {
      upstreams_->Sync(snapshots_.current());
    }
    if (tcp_proxies_ != nullptr) {
      tcp_proxies_->Apply(options_.config);
    }
    EnableListeners();
    if (options_.on_listening) {
      options_.on_listening();
    }
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), options_.thread_name.substr(0, 15).c_str());
    // The loop's wait ends at the next delay's deadline; the kernel's default 50 us of slack
    // on that wake-up would be lateness added to every delayed response.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    if (options_.cpu >= 0 && !PinCurrentThreadTo(options_.cpu)) {
      context_.cpu = -1;  // not pinned (the CPU left the allowed set): serve without steering
    }
    loop_.Run();
  });
}

void Worker::StopAndJoin() {
  if (thread_.joinable()) {
    // Tear down in the loop thread: the loop runs tasks posted before Stop() on its way out.
    loop_.Post([this] {
      StopAccepting();
      tcp_proxies_.reset();
      connections_.clear();
      context_.serving = nullptr;
      serving_.reset();
      faults_.reset();
      exchanges_.reset();
      upstreams_.reset();  // in the loop thread, while the loop can defer deletions
    });
    loop_.Stop();
    thread_.join();
  }
}

void Worker::PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied) {
  loop_.Post([this, config = std::move(config), applied = std::move(applied)]() mutable {
    const Nanos old_header_timeout = snapshots_.current().header_timeout;
    const Nanos old_idle_timeout = snapshots_.current().idle_timeout;
    if (tcp_proxies_ != nullptr) {
      tcp_proxies_->Apply(config);
    }
    snapshots_.Publish(std::move(config));
    if (upstreams_ != nullptr) {
      upstreams_->Sync(snapshots_.current());
    }
    // Fewer workers (down to one) raise the share: a paused worker must not wait for its next
    // check while its peers retire and nobody accepts.
    ResumeIfWithinShare();
    // Shorter timeouts must reach connections already waiting; longer ones are noticed when
    // the current deadline fires. Only then is the walk over every connection worth it.
    if (snapshots_.current().idle_timeout != old_idle_timeout) {
      idle_.OnTimeoutChanged();
    }
    if (snapshots_.current().header_timeout < old_header_timeout ||
        snapshots_.current().idle_timeout < old_idle_timeout) {
      for (Connection* connection : OpenConnections()) {
        connection->OnConfigChanged();
      }
    }
    applied();
  });
}

void Worker::PublishToRetiring(ConfigSnapshotPtr config) {
  loop_.Post([this, config = std::move(config)]() mutable {
    if (tcp_proxies_ != nullptr) {
      tcp_proxies_->Apply(config);
    }
    snapshots_.Publish(std::move(config));
  });
}

std::vector<Connection*> Worker::OpenConnections() const {
  std::vector<Connection*> open;
  open.reserve(connections_.size());
  for (const auto& [id, connection] : connections_) {
    open.push_back(connection.get());
  }
  return open;
}

void Worker::BeginDrain() {
  loop_.Post([this] {
    context_.draining = true;
    StopAccepting();
    for (Connection* connection : OpenConnections()) {
      connection->BeginDrain();  // may close it (and erase it from the map)
    }
    UpdateDrained();
  });
}

void Worker::AbortConnections() {
  loop_.Post([this] {
    for (Connection* connection : OpenConnections()) {
      connection->Abort();
    }
    if (tcp_proxies_ != nullptr) {
      tcp_proxies_->AbortRelays();
    }
    UpdateDrained();
  });
}

void Worker::Retire(absl::AnyInvocable<void()> stopped_accepting) {
  loop_.Post([this, stopped_accepting = std::move(stopped_accepting)]() mutable {
    context_.retiring = true;
    StopAccepting();
    if (tcp_proxies_ != nullptr && options_.relay_handover_sink) {
      tcp_proxies_->Retire(options_.relay_handover_sink);  // relays move once at rest
    }
    for (Connection* connection : OpenConnections()) {
      if (connection->idle() && !context_.draining) {
        HandOver(connection);
      } else {
        connection->BeginRetire();  // an HTTP/2 one sends GOAWAY and closes once done
      }
      // Busy ones hand themselves over when they turn idle (Connection::OnSessionAtRest).
    }
    stopped_accepting();
    UpdateDrained();
  });
}

void Worker::HandOver(Connection* connection) { options_.handover_sink(connection->Detach()); }

bool Worker::MoveToIncomingCpu(Connection* connection) {
  const int cpu = SteerTarget(connection->fd());
  if (cpu < 0) {
    return false;
  }
  options_.cpu_sink(connection->Detach(), cpu);
  return true;
}

int Worker::SteerTarget(int fd) const {
  if (context_.cpu < 0 || context_.retiring) {
    return -1;
  }
  const int incoming = IncomingCpu(fd);
  return incoming != context_.cpu && options_.cpu_workers->Serves(incoming) ? incoming : -1;
}

void Worker::Adopt(ConnectionHandover handover) {
  loop_.Post([this, handover] {
    options_.stats->connections_handed_in.Add();
    const uint64_t id = handover.id != 0 ? handover.id : NextConnectionId();
    auto owned = std::make_unique<Connection>(context_, id, handover);
    Connection* connection = owned.get();
    connections_.emplace(id, std::move(owned));
    connection->Start();  // reads what arrived meanwhile; closes at once if draining
  });
}

void Worker::AdoptRelay(RelayHandover handover) {
  loop_.Post([this, handover = std::move(handover)]() mutable {
    if (tcp_proxies_ == nullptr) {
      close(handover.client_fd);
      close(handover.upstream_fd);
      if (options_.admission != nullptr) options_.admission->ReleaseConnection();
      return;
    }
    tcp_proxies_->Adopt(std::move(handover));
  });
}

void Worker::CollectConnections(absl::AnyInvocable<void(std::vector<ConnectionInfo>)> done) {
  loop_.Post([this, done = std::move(done)]() mutable {
    std::vector<ConnectionInfo> rows;
    rows.reserve(connections_.size());
    for (const auto& [id, connection] : connections_) {
      if (connection->state() != Connection::State::kClosed) {
        rows.push_back(connection->Describe(options_.index));
      }
    }
    if (tcp_proxies_ != nullptr) {
      for (RelayInfo& relay : tcp_proxies_->DescribeRelays()) {
        rows.push_back(ConnectionInfo{.id = relay.id,
                                      .worker = options_.index,
                                      .peer = std::move(relay.peer),
                                      .accepted_at = relay.accepted_at,
                                      .requests_served = 0,
                                      .state = relay.state,
                                      .bytes_in = relay.bytes_in,
                                      .bytes_out = relay.bytes_out,
                                      .tcp_proxy = std::move(relay.proxy),
                                      .upstream = std::move(relay.upstream)});
      }
    }
    done(std::move(rows));
  });
}

uint64_t Worker::NextConnectionId() {
  // Unique across workers, those started later included: moved connections keep their ids,
  // so a worker reusing a retired one's index must not count from 1 again.
  return options_.connection_id_base | ++next_connection_serial_;
}

void Worker::Accept(int fd, bool tls) {
  WorkerStats& stats = *options_.stats;
  stats.connections_accepted.Add();
  bool admitted = options_.admission == nullptr ||
                  options_.admission->TryAcquireConnection(snapshots_.current().max_connections);
  const bool holds_slot = admitted && options_.admission != nullptr;
  // A TLS connection is served where it was accepted (its handshake state does not move).
  if (admitted && !tls) {  // TCP_NODELAY came from the listener (ListenTcp)
    if (const int cpu = SteerTarget(fd); cpu >= 0) {
      // Before any read: the worker on that CPU serves the connection from its first byte.
      ConnectionHandover handover;
      handover.fd = fd;
      handover.holds_slot = holds_slot;
      handover.accepted_at = loop_.now();
      stats.connections_handed_out.Add();
      options_.cpu_sink(handover, cpu);
      return;
    }
  }
  if (tls && !admitted) {
    // A 503 cannot go out before a handshake, which a refused connection is not worth.
    stats.rejected.max_connections.Add();
    stats.closed_local.Add();
    close(fd);
    return;
  }
  SSL* ssl = nullptr;
  if (tls) {
    ssl = options_.tls->NewSession();
    if (ssl == nullptr) {  // out of memory in OpenSSL: refuse this one, keep serving
      stats.closed_io_error.Add();
      close(fd);
      if (holds_slot) {
        options_.admission->ReleaseConnection();
      }
      return;
    }
  }
  uint64_t id = NextConnectionId();
  auto owned = std::make_unique<Connection>(context_, fd, id, holds_slot);
  Connection* connection = owned.get();
  connections_.emplace(id, std::move(owned));
  if (ssl != nullptr) {
    connection->UseTls(ssl);
  }
  if (admitted) {
    connection->Start();
  } else {
    stats.rejected.max_connections.Add();
    connection->StartRejected(503, /*retry_after_seconds=*/1);
  }
  CheckAcceptShare();
}

void Worker::StopAccepting() {
  share_timer_.Cancel();
  share_paused_ = false;
  DisableListeners();
  if (tcp_proxies_ != nullptr) {
    tcp_proxies_->StopAccepting();
  }
}

bool Worker::KeepsAcceptShare() const {
  // Not on the admin listener (one worker), nor in CPU-local mode, where a connection's
  // worker is the one on its packets' CPU, whatever the counts.
  return options_.admission != nullptr && options_.exclusive_accept && context_.cpu < 0;
}

void Worker::CheckAcceptShare() {
  if (!KeepsAcceptShare() || share_paused_ || !listener_.enabled()) {
    return;
  }
  if (AcceptShare::ShouldPause(connection_count(), options_.admission->connections(),
                               snapshots_.current().workers)) {
    DisableListeners();
    if (tcp_proxies_ != nullptr) tcp_proxies_->PauseAccepting(true);
    share_paused_ = true;
    share_recheck_ = kShareRecheckFirst;
    share_timer_.ArmAt(loop_.now() + share_recheck_);
  }
}

bool Worker::ResumeIfWithinShare() {
  if (!share_paused_ || context_.draining || context_.retiring) {
    return true;
  }
  if (!AcceptShare::ShouldResume(connection_count(), options_.admission->connections(),
                                 snapshots_.current().workers)) {
    return false;
  }
  share_timer_.Cancel();
  share_paused_ = false;
  EnableListeners();
  if (tcp_proxies_ != nullptr) tcp_proxies_->PauseAccepting(false);
  return true;
}

void Worker::OnAcceptShareTimer() {
  if (!ResumeIfWithinShare()) {
    share_recheck_ = std::min(2 * share_recheck_, kShareRecheckMost);
    share_timer_.ArmAt(loop_.now() + share_recheck_);
  }
}

void Worker::OnConnectionClosed(Connection* connection) {
  auto it = connections_.find(connection->id());
  if (it == connections_.end()) {
    return;
  }
  loop_.DeferDelete(std::move(it->second));
  connections_.erase(it);
  UpdateDrained();
}

void Worker::UpdateDrained() {
  // Relays count: a drain lets them run until its deadline, as their clients may be midway.
  const bool empty =
      connections_.empty() && (tcp_proxies_ == nullptr || tcp_proxies_->relay_count() == 0);
  if (context_.draining && empty) {
    drained_.store(true, std::memory_order_release);
  }
  if (context_.retiring && empty) {
    retired_.store(true, std::memory_order_release);
  }
}

}  // namespace proxynode
