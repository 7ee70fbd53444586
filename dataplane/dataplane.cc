#include "dataplane/dataplane.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "dataplane/stats/tcp_proxy_metrics.h"

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
  auto dataplane =
      std::unique_ptr<Dataplane>(new Dataplane(std::move(options), *http_fd, *admin_fd, fd_limits));
  if (const DataplaneOptions& made = dataplane->options_; made.https_address) {
    absl::StatusOr<std::unique_ptr<TlsServerContext>> tls =
        TlsServerContext::Create(made.tls_cert_file, made.tls_key_file);
    if (!tls.ok()) {
      return tls.status();
    }
    absl::StatusOr<int> https_fd = ListenTcp(*made.https_address, made.listen_backlog);
    if (!https_fd.ok()) {
      return https_fd.status();
    }
    dataplane->tls_ = std::move(*tls);
    dataplane->https_fd_ = *https_fd;
    dataplane->https_address_ = LocalAddress(*https_fd);
  }
  if (absl::Status status = dataplane->BindStartupTcpProxies(); !status.ok()) {
    return status;
  }
  return dataplane;
}

absl::Status Dataplane::BindStartupTcpProxies() {
  std::lock_guard<std::mutex> lock(config_mutex_);
  if (config_->tcp_proxies.empty()) return absl::OkStatus();
  NodeConfig config = *config_;
  if (absl::Status status = tcp_listen_sockets_.Bind(config, config.version, /*dry_run=*/false);
      !status.ok()) {
    return status;
  }
  config_ = std::make_shared<const ConfigSnapshot>(std::move(config));
  return absl::OkStatus();
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
      tcp_listen_sockets_(options_.listen_backlog),
      admin_handler_([this] { return RenderMetrics(); }, draining_),
      config_(std::make_shared<const ConfigSnapshot>(options_.config)),
      cpus_(options_.cpu_local ? AllowedCpus() : std::vector<int>{}) {}

Dataplane::~Dataplane() {
  Stop();
  close(http_fd_);
  close(admin_fd_);
  if (https_fd_ >= 0) {
    close(https_fd_);
  }
}

absl::StatusOr<bool> Dataplane::ReloadTlsIfChanged() {
  if (tls_ == nullptr) {
    return false;
  }
  return tls_->ReloadIfChanged();
}

std::unique_ptr<Worker> Dataplane::MakeWorker(const ConfigSnapshotPtr& config,
                                              std::function<void()> on_listening) {
  WorkerOptions worker;
  worker.index = FreeWorkerIndex();
  worker.connection_id_base = workers_started_++ << Worker::kConnectionSerialBits;
  worker.listen_fd = http_fd_;
  worker.tls_listen_fd = https_fd_;
  worker.tls = tls_.get();
  worker.handler = &respond_handler_;
  worker.admission = &admission_;
  worker.proxy_stats = &proxy_stats_;
  worker.access_log = options_.access_log.get();
  worker.tcp_proxy_stats = &tcp_proxy_stats_;
  worker.shared_pacers = &shared_pacers_;
  worker.config = config;
  worker.stats = std::make_shared<WorkerStats>();
  worker.thread_name = absl::StrCat("worker-", worker.index);
  worker.handover_sink = [this](ConnectionHandover handover) { AdoptElsewhere(handover); };
  worker.relay_handover_sink = [this](RelayHandover handover) {
    AdoptRelayElsewhere(std::move(handover));
  };
  if (options_.cpu_local && !cpus_.empty()) {
    worker.cpu = cpus_[static_cast<size_t>(worker.index) % cpus_.size()];
    worker.cpu_workers = &cpu_workers_;
    worker.cpu_sink = [this](ConnectionHandover handover, int cpu) {
      AdoptElsewhere(handover, cpu);
    };
    cpu_workers_.Add(worker.cpu);
  }
  worker.on_listening = std::move(on_listening);
  stats_.AddWorker(worker.index, worker.stats);
  return std::make_unique<Worker>(std::move(worker));
}

int Dataplane::FreeWorkerIndex() const {
  // The lowest index no running worker uses, so metric labels stay few across changes.
  for (int index = 0;; ++index) {
    auto uses = [index](const std::unique_ptr<Worker>& w) { return w->index() == index; };
    if (std::none_of(workers_.begin(), workers_.end(), uses) &&
        std::none_of(retiring_.begin(), retiring_.end(), uses)) {
      return index;
    }
  }
}

void Dataplane::Start() {
  ConfigSnapshotPtr config = this->config();
  {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    for (uint32_t i = 0; i < config->workers; ++i) {
      workers_.push_back(MakeWorker(config, nullptr));
    }
    for (auto& worker : workers_) {
      worker->Start();
    }
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
  admin_worker_->Start();
}

void Dataplane::PublishConfig(ConfigSnapshotPtr config, absl::AnyInvocable<void()> applied) {
  struct Countdown {
    std::atomic<size_t> remaining{0};
    absl::AnyInvocable<void()> applied;
  };
  auto countdown = std::make_shared<Countdown>();
  // Once every worker runs `config`, the TCP proxies' sockets it no longer uses can close.
  countdown->applied = [this, config, applied = std::move(applied)]() mutable {
    tcp_listen_sockets_.Retain(*config);
    applied();
  };
  auto ack = [countdown] {
    if (countdown->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      countdown->applied();
    }
  };

  std::lock_guard<std::mutex> lock(workers_mutex_);
  {
    std::lock_guard<std::mutex> config_lock(config_mutex_);
    config_ = config;
  }
  const size_t running = workers_.size();
  // A draining node keeps its workers: new ones would only listen again.
  const size_t wanted = draining() ? running : config->workers;
  // One ack per running worker and the admin worker, plus one per worker started or retired.
  countdown->remaining = running + 1 + (wanted > running ? wanted - running : running - wanted);
  for (auto& worker : workers_) {
    worker->PublishConfig(config, ack);
  }
  admin_worker_->PublishConfig(config, ack);
  for (auto& worker : retiring_) {
    worker->PublishToRetiring(config);  // no longer accepting: nothing to wait for
  }
  while (workers_.size() < wanted) {
    workers_.push_back(MakeWorker(config, ack));
    workers_.back()->Start();
  }
  while (workers_.size() > wanted) {
    // The newest workers go first; their connections move to the ones that stay.
    cpu_workers_.Remove(workers_.back()->cpu());  // no new connections steered to it
    retiring_.push_back(std::move(workers_.back()));
    workers_.pop_back();
    retiring_.back()->Retire(ack);
  }
}

void Dataplane::AdoptElsewhere(ConnectionHandover handover, int cpu) {
  std::lock_guard<std::mutex> lock(workers_mutex_);
  if (workers_.empty()) {  // cannot happen (at least one worker serves); never leak the fd
    close(handover.fd);
    SSL_free(handover.tls);
    if (handover.holds_slot) {
      admission_.ReleaseConnection();
    }
    return;
  }
  // Workers on `cpu` first (none when cpu is -1), then by load.
  auto least_loaded =
      std::min_element(workers_.begin(), workers_.end(), [cpu](const auto& a, const auto& b) {
        const bool a_on_cpu = a->cpu() == cpu && cpu >= 0;
        const bool b_on_cpu = b->cpu() == cpu && cpu >= 0;
        if (a_on_cpu != b_on_cpu) {
          return a_on_cpu;
        }
        return a->connection_count() < b->connection_count();
      });
  (*least_loaded)->Adopt(handover);
}

void Dataplane::AdoptRelayElsewhere(RelayHandover handover) {
  std::lock_guard<std::mutex> lock(workers_mutex_);
  if (workers_.empty()) {  // cannot happen (at least one worker serves); never leak the fds
    close(handover.client_fd);
    close(handover.upstream_fd);
    return;
  }
  auto least_loaded = std::min_element(
      workers_.begin(), workers_.end(),
      [](const auto& a, const auto& b) { return a->connection_count() < b->connection_count(); });
  (*least_loaded)->AdoptRelay(std::move(handover));
}

size_t Dataplane::ReapRetiredWorkers() {
  std::vector<std::unique_ptr<Worker>> finished;
  {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    for (auto it = retiring_.begin(); it != retiring_.end();) {
      if ((*it)->retired()) {
        finished.push_back(std::move(*it));
        it = retiring_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& worker : finished) {
    worker->StopAndJoin();  // outside the lock: the thread may still be finishing a task
    stats_.RetireWorker(worker->index());
  }
  return finished.size();
}

uint32_t Dataplane::worker_count() const {
  std::lock_guard<std::mutex> lock(workers_mutex_);
  return static_cast<uint32_t>(workers_.size());
}

std::vector<Worker*> Dataplane::AllWorkers() const {
  std::vector<Worker*> all;
  for (const auto& worker : workers_) {
    all.push_back(worker.get());
  }
  for (const auto& worker : retiring_) {
    all.push_back(worker.get());
  }
  return all;
}

void Dataplane::ListConnections(absl::AnyInvocable<void(std::vector<ConnectionInfo>)> done) {
  struct Gather {
    std::mutex mutex;
    std::vector<ConnectionInfo> rows;
    size_t remaining = 0;
    absl::AnyInvocable<void(std::vector<ConnectionInfo>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  std::lock_guard<std::mutex> lock(workers_mutex_);
  std::vector<Worker*> all = AllWorkers();
  gather->remaining = all.size();
  for (Worker* worker : all) {
    worker->CollectConnections([gather](std::vector<ConnectionInfo> rows) {
      bool last;
      {
        std::lock_guard<std::mutex> gather_lock(gather->mutex);
        for (ConnectionInfo& row : rows) {
          gather->rows.push_back(std::move(row));
        }
        last = --gather->remaining == 0;
      }
      if (last) {
        std::sort(gather->rows.begin(), gather->rows.end(),
                  [](const ConnectionInfo& a, const ConnectionInfo& b) {
                    return a.accepted_at < b.accepted_at;
                  });
        gather->done(std::move(gather->rows));
      }
    });
  }
}

ConfigSnapshotPtr Dataplane::config() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_;
}

void Dataplane::BeginDrain() {
  draining_.store(true, std::memory_order_release);
  std::lock_guard<std::mutex> lock(workers_mutex_);
  for (Worker* worker : AllWorkers()) {
    worker->BeginDrain();
  }
  // Workers leaving the socket is not enough: the kernel would go on completing handshakes
  // into the accept queue, and those clients would hang until exit. Stopped, the socket
  // refuses them at once, so they retry another replica. (Its fd stays open until exit.)
  StopListening(http_fd_);
}

bool Dataplane::Drained() const {
  std::lock_guard<std::mutex> lock(workers_mutex_);
  std::vector<Worker*> all = AllWorkers();
  return std::all_of(all.begin(), all.end(), [](Worker* worker) { return worker->drained(); });
}

void Dataplane::AbortConnections() {
  std::lock_guard<std::mutex> lock(workers_mutex_);
  for (Worker* worker : AllWorkers()) {
    worker->AbortConnections();
  }
}

void Dataplane::Stop() {
  std::vector<std::unique_ptr<Worker>> all;
  {
    std::lock_guard<std::mutex> lock(workers_mutex_);
    for (auto& worker : workers_) {
      all.push_back(std::move(worker));
    }
    for (auto& worker : retiring_) {
      all.push_back(std::move(worker));
    }
    workers_.clear();
    retiring_.clear();
  }
  for (auto& worker : all) {
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
  info.workers = worker_count();
  info.draining = draining();
  info.uptime_seconds = static_cast<double>(MonotonicNow() - started_at_) / 1e9;
  info.fd_soft_limit = fd_limits_.soft;
  info.fd_hard_limit = fd_limits_.hard;
  info.connections = admission_.connections();
  info.pending_requests = admission_.pending();
  info.active_faults = admission_.active_faults();
  info.build = options_.build;
  info.config_reloads = ConfigReloadValues::Of(config_reloads_);
  info.access_log_on = options_.access_log != nullptr;
  info.access_log_dropped = options_.access_log != nullptr ? options_.access_log->dropped() : 0;
  return info;
}

std::string Dataplane::RenderMetrics() const {
  std::string metrics =
      RenderPrometheus(CollectStats(), CollectProxyStats(), Info(), ReadProcessStats());
  RenderTcpProxies(metrics, CollectTcpProxyStats());
  return metrics;
}

}  // namespace proxynode
