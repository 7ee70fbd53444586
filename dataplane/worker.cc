#include "dataplane/worker.h"

#include <pthread.h>
#include <unistd.h>

#include <vector>

#include "dataplane/admission.h"
#include "dataplane/socket_ops.h"

namespace proxynode {

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      snapshots_(options_.config),
      context_{loop_,           pool_,
               *options_.stats, snapshots_,
               date_,           *options_.handler,
               *this,           options_.admission},
      listener_(loop_, options_.listen_fd, options_.exclusive_accept, *options_.stats,
                [this](int fd) { Accept(fd); }) {}

Worker::~Worker() { StopAndJoin(); }

void Worker::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), options_.thread_name.substr(0, 15).c_str());
    loop_.Post([this] { listener_.Enable(); });
    loop_.Run();
  });
}

void Worker::StopAndJoin() {
  if (thread_.joinable()) {
    // Tear down in the loop thread: the loop runs tasks posted before Stop() on its way out.
    loop_.Post([this] {
      listener_.Disable();
      connections_.clear();
    });
    loop_.Stop();
    thread_.join();
  }
}

void Worker::PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied) {
  loop_.Post([this, config = std::move(config), applied = std::move(applied)]() mutable {
    snapshots_.Publish(std::move(config));
    applied();
  });
}

void Worker::BeginDrain() {
  loop_.Post([this] {
    context_.draining = true;
    listener_.Disable();
    std::vector<Connection*> open;
    open.reserve(connections_.size());
    for (auto& [id, connection] : connections_) {
      open.push_back(connection.get());
    }
    for (Connection* connection : open) {
      connection->BeginDrain();  // may close it (and erase it from the map)
    }
    UpdateDrained();
  });
}

void Worker::AbortConnections() {
  loop_.Post([this] {
    std::vector<Connection*> open;
    for (auto& [id, connection] : connections_) {
      open.push_back(connection.get());
    }
    for (Connection* connection : open) {
      connection->Abort();
    }
    UpdateDrained();
  });
}

void Worker::Accept(int fd) {
  WorkerStats& stats = *options_.stats;
  stats.connections_accepted.Add();
  // Unique across workers: the worker index in the top bits.
  uint64_t id = (static_cast<uint64_t>(options_.index) << 48) | ++next_connection_serial_;
  bool admitted = options_.admission == nullptr ||
                  options_.admission->TryAcquireConnection(snapshots_.current().max_connections);
  auto owned =
      std::make_unique<Connection>(context_, fd, id, admitted && options_.admission != nullptr);
  Connection* connection = owned.get();
  connections_.emplace(id, std::move(owned));
  if (admitted) {
    SetTcpNoDelay(fd);
    connection->Start();
  } else {
    stats.rejected.max_connections.Add();
    connection->StartRejected(503, /*retry_after_seconds=*/1);
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
  if (context_.draining && connections_.empty()) {
    drained_.store(true, std::memory_order_release);
  }
}

}  // namespace proxynode
