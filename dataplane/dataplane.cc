#include "dataplane/dataplane.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace proxynode {

absl::StatusOr<std::unique_ptr<Dataplane>> Dataplane::Create(DataplaneOptions options) {
  if (absl::Status status = ValidateConfig(options.config); !status.ok()) {
    return status;
  }
  FdLimits fd_limits = RaiseFdLimit();
  absl::StatusOr<int> http_fd = ListenTcp(options.http_address, options.listen_backlog);
  if (!http_fd.ok()) {
    return http_fd.status();
  }
  absl::StatusOr<int> admin_fd = ListenTcp(options.admin_address, 128);
  if (!admin_fd.ok()) {
    close(*http_fd);
    return admin_fd.status();
  }
  return std::unique_ptr<Dataplane>(
      new Dataplane(std::move(options), *http_fd, *admin_fd, fd_limits));
}

Dataplane::Dataplane(DataplaneOptions options, int http_fd, int admin_fd, FdLimits fd_limits)
    : options_(std::move(options)),
      http_fd_(http_fd),
      admin_fd_(admin_fd),
      http_address_(LocalAddress(http_fd)),
      admin_address_(LocalAddress(admin_fd)),
      fd_limits_(fd_limits),
      started_at_(MonotonicNow()),
      admission_(static_cast<uint32_t>(
          std::min<uint64_t>(fd_limits.soft > kReservedFds ? fd_limits.soft - kReservedFds : 1,
                             ConfigBounds::kMaxConnections))),
      admin_handler_([this] { return RenderMetrics(); }, draining_),
      config_(std::make_shared<const ConfigSnapshot>(options_.config)) {}

Dataplane::~Dataplane() {
  Stop();
  close(http_fd_);
  close(admin_fd_);
}

void Dataplane::Start() {
  ConfigSnapshotPtr config = this->config();
  for (uint32_t i = 0; i < config->workers; ++i) {
    WorkerOptions worker;
    worker.index = static_cast<int>(i);
    worker.listen_fd = http_fd_;
    worker.handler = &respond_handler_;
    worker.admission = &admission_;
    worker.config = config;
    worker.stats = std::make_shared<WorkerStats>();
    worker.thread_name = absl::StrCat("worker-", i);
    stats_.AddWorker(worker.index, worker.stats);
    workers_.push_back(std::make_unique<Worker>(std::move(worker)));
  }
  WorkerOptions admin;
  admin.index = -1;
  admin.listen_fd = admin_fd_;
  admin.exclusive_accept = false;
  admin.handler = &admin_handler_;
  admin.config = config;
  admin.stats = std::make_shared<WorkerStats>();  // kept apart from the data-plane totals
  admin.thread_name = "admin";
  admin_worker_ = std::make_unique<Worker>(std::move(admin));

  for (auto& worker : workers_) {
    worker->Start();
  }
  admin_worker_->Start();
}

void Dataplane::PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied) {
  {
    std::lock_guard<std::mutex> lock(config_mutex_);
    config_ = config;
  }
  // The last worker to apply it runs `applied`.
  struct Countdown {
    std::atomic<size_t> remaining;
    absl::AnyInvocable<void()> applied;
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->remaining = workers_.size() + 1;  // + the admin worker
  countdown->applied = std::move(applied);
  auto ack = [countdown] {
    if (countdown->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      countdown->applied();
    }
  };
  for (auto& worker : workers_) {
    worker->PublishConfig(config, ack);
  }
  admin_worker_->PublishConfig(config, ack);
}

ConfigSnapshotPtr Dataplane::config() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_;
}

void Dataplane::BeginDrain() {
  draining_.store(true, std::memory_order_release);
  for (auto& worker : workers_) {
    worker->BeginDrain();
  }
}

bool Dataplane::Drained() const {
  return std::all_of(workers_.begin(), workers_.end(),
                     [](const auto& worker) { return worker->drained(); });
}

void Dataplane::AbortConnections() {
  for (auto& worker : workers_) {
    worker->AbortConnections();
  }
}

void Dataplane::Stop() {
  for (auto& worker : workers_) {
    worker->StopAndJoin();
  }
  if (admin_worker_ != nullptr) {
    admin_worker_->StopAndJoin();
  }
}

NodeInfo Dataplane::Info() const {
  NodeInfo info;
  ConfigSnapshotPtr config = this->config();
  info.config_version = config->version;
  info.workers = static_cast<uint32_t>(workers_.size());
  info.draining = draining();
  info.uptime_seconds = static_cast<double>(MonotonicNow() - started_at_) / 1e9;
  info.fd_soft_limit = fd_limits_.soft;
  info.fd_hard_limit = fd_limits_.hard;
  info.connections = admission_.connections();
  info.pending_requests = admission_.pending();
  return info;
}

std::string Dataplane::RenderMetrics() const { return RenderPrometheus(CollectStats(), Info()); }

}  // namespace proxynode
