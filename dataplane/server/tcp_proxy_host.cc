#include "dataplane/server/tcp_proxy_host.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dataplane/core/socket_ops.h"

namespace proxynode {
namespace {

std::string PacerKey(const std::string& proxy, const std::string& toxic) {
  return absl::StrCat(proxy, "/", toxic);
}

// Seeded like the fault engine's generators (worker i from seed + i), past their streams.
uint64_t RelaySeed(uint64_t fault_seed, int worker) {
  if (fault_seed == 0) {
    std::random_device device;
    const uint64_t high = device();
    return (high << 32) ^ device();
  }
  return fault_seed + uint64_t{0x5DEECE66D} + static_cast<uint64_t>(worker);
}

}  // namespace

TcpProxyHost::TcpProxyHost(Options options)
    : options_(std::move(options)), random_(0), context_{*options_.loop, *options_.pool, pipes_,
                                                         random_,        *this,          *this} {}

TcpProxyHost::~TcpProxyHost() {
  relays_.clear();
  proxies_.clear();
}

void TcpProxyHost::Apply(const ConfigSnapshotPtr& config) {
  if (proxies_.empty() && relays_.empty()) {
    random_.Seed(RelaySeed(config->fault_seed, options_.worker_index));
  }
  // The pacers the old config used live until every relay has taken the new one's (and
  // while they live, the registry gives the same pacer again for an unchanged rate).
  const PacerMap previous_pacers = std::move(pacers_);
  SyncPacers(*config);
  max_connections_ = config->max_connections;
  absl::flat_hash_map<std::string, const TcpProxyConfig*> wanted;
  for (const TcpProxyConfig& proxy : config->tcp_proxies) wanted[proxy.name] = &proxy;

  // Relays whose proxy went away or changed where it listens or relays to close; the others
  // take the new config (toxics drawn again when they changed).
  std::vector<TcpRelay*> relays;
  relays.reserve(relays_.size());
  for (const auto& [id, relay] : relays_) relays.push_back(relay.get());
  for (TcpRelay* relay : relays) {
    auto it = wanted.find(relay->proxy().name);
    const TcpProxyConfig* next = it == wanted.end() ? nullptr : it->second;
    if (next == nullptr || !next->enabled || next->listen != relay->proxy().listen ||
        next->upstream != relay->proxy().upstream) {
      relay->Abort();  // erases it from relays_
    }
  }
  // Listeners: gone or disabled proxies stop; new or re-enabled ones start.
  for (auto it = proxies_.begin(); it != proxies_.end();) {
    auto next = wanted.find(it->first);
    if (next == wanted.end()) {
      proxies_.erase(it++);
      continue;
    }
    Proxy& proxy = *it->second;
    const int fd = next->second->enabled ? next->second->listen_fd : -1;
    if (proxy.listener != nullptr && (fd < 0 || fd != proxy.relay.config->listen_fd)) {
      proxy.listener.reset();
    }
    ++it;
  }
  for (const TcpProxyConfig& config_proxy : config->tcp_proxies) {
    std::unique_ptr<Proxy>& slot = proxies_[config_proxy.name];
    if (slot == nullptr) slot = std::make_unique<Proxy>();
    Proxy& proxy = *slot;
    proxy.relay = MakeRelayProxy(config, config_proxy, proxy);
    if (proxy.listener == nullptr && config_proxy.enabled && config_proxy.listen_fd >= 0) {
      Proxy* target = &proxy;
      proxy.listener = std::make_unique<Listener>(*options_.loop, config_proxy.listen_fd,
                                                  /*exclusive=*/true, *options_.worker_stats,
                                                  [this, target](int fd) { Accept(*target, fd); });
      if (accepting_ && !paused_) proxy.listener->Enable();
    }
  }
  relays.clear();
  for (const auto& [id, relay] : relays_) relays.push_back(relay.get());
  for (TcpRelay* relay : relays) {
    relay->ApplyToxics(proxies_[relay->proxy().name]->relay);  // may close it (a down toxic)
  }
}

RelayProxy TcpProxyHost::MakeRelayProxy(const ConfigSnapshotPtr& snapshot,
                                        const TcpProxyConfig& config, Proxy& proxy) {
  if (proxy.stats == nullptr) {
    proxy.stats = options_.stats->ForProxy(options_.worker_index, config.name);
  }
  RelayProxy relay;
  relay.snapshot = snapshot;
  relay.config = &config;
  relay.stats = proxy.stats.get();
  relay.toxic_stats = &proxy.toxic_stats;
  proxy.toxic_stats.resize(config.toxics.size());
  for (size_t i = 0; i < config.toxics.size(); ++i) {
    const ToxicConfig& toxic = config.toxics[i];
    // Looked up again on every config: the toxic at position i may be another one now.
    proxy.toxic_stats[i] = options_.stats->ForToxic(options_.worker_index, config.name, toxic.name,
                                                    std::string(ToxicTypeName(toxic.type)));
  }
  return relay;
}

void TcpProxyHost::SyncPacers(const NodeConfig& config) {
  SharedPacerRegistry& registry =
      options_.shared_pacers != nullptr ? *options_.shared_pacers : own_pacers_;
  pacers_.clear();
  for (const TcpProxyConfig& proxy : config.tcp_proxies) {
    for (const ToxicConfig& toxic : proxy.toxics) {
      if (toxic.type != ToxicType::kBandwidth || !toxic.shared || toxic.rate == 0) continue;
      std::string key = PacerKey(proxy.name, toxic.name);
      pacers_.emplace(key, registry.Get(key, toxic.rate, options_.loop->now()));
    }
  }
}

SharedBytePacer* TcpProxyHost::Find(const TcpProxyConfig& proxy, size_t index) {
  auto it = pacers_.find(PacerKey(proxy.name, proxy.toxics[index].name));
  return it == pacers_.end() ? nullptr : it->second.get();
}

void TcpProxyHost::Accept(Proxy& proxy, int fd) {  // TCP_NODELAY came from the listener
  if (options_.admission != nullptr &&
      !options_.admission->TryAcquireConnection(max_connections_)) {
    // A byte stream has no 503 to say why: the client sees the connection close at once.
    options_.worker_stats->rejected.max_connections.Add();
    proxy.stats->refused.Add();
    close(fd);
    return;
  }
  const uint64_t id = options_.next_id();
  auto owned = std::make_unique<TcpRelay>(context_, id, fd, proxy.relay);
  TcpRelay* relay = owned.get();
  relays_.emplace(id, std::move(owned));
  relay->Start();  // may close it at once (a down toxic, a failed connect)
  if (on_accepted_) on_accepted_();
}

void TcpProxyHost::Retire(std::function<void(RelayHandover)> sink) {
  StopAccepting();
  handover_sink_ = std::move(sink);
  std::vector<TcpRelay*> relays;
  relays.reserve(relays_.size());
  for (const auto& [id, relay] : relays_) relays.push_back(relay.get());
  for (TcpRelay* relay : relays) {
    if (relay->AtRest()) OnRelayAtRest(relay);
  }
}

void TcpProxyHost::OnRelayAtRest(TcpRelay* relay) {
  if (handover_sink_) handover_sink_(relay->Detach());
}

void TcpProxyHost::Adopt(RelayHandover handover) {
  auto it = handover.config == nullptr ? proxies_.end() : proxies_.find(handover.config->name);
  const TcpProxyConfig* config = it == proxies_.end() ? nullptr : it->second->relay.config;
  if (config == nullptr || !config->enabled || config->listen != handover.config->listen ||
      config->upstream != handover.config->upstream) {
    close(handover.client_fd);
    close(handover.upstream_fd);
    if (options_.admission != nullptr) options_.admission->ReleaseConnection();
    return;
  }
  auto owned = std::make_unique<TcpRelay>(context_, handover, it->second->relay);
  TcpRelay* relay = owned.get();
  relays_.emplace(relay->id(), std::move(owned));
  relay->Start();
}

void TcpProxyHost::StopAccepting() {
  accepting_ = false;
  for (auto& [name, proxy] : proxies_) {
    if (proxy->listener != nullptr) proxy->listener->Disable();
  }
}

void TcpProxyHost::PauseAccepting(bool paused) {
  paused_ = paused;
  for (auto& [name, proxy] : proxies_) {
    if (proxy->listener == nullptr) continue;
    if (accepting_ && !paused_) {
      proxy->listener->Enable();
    } else {
      proxy->listener->Disable();
    }
  }
}

void TcpProxyHost::AbortRelays() {
  std::vector<TcpRelay*> relays;
  relays.reserve(relays_.size());
  for (const auto& [id, relay] : relays_) relays.push_back(relay.get());
  for (TcpRelay* relay : relays) relay->Abort();
}

std::vector<RelayInfo> TcpProxyHost::DescribeRelays() const {
  std::vector<RelayInfo> rows;
  rows.reserve(relays_.size());
  for (const auto& [id, relay] : relays_) {
    if (!relay->closed()) rows.push_back(relay->Describe());
  }
  return rows;
}

void TcpProxyHost::OnRelayClosed(TcpRelay* relay) {
  auto it = relays_.find(relay->id());
  if (it == relays_.end()) return;
  // A relay handed over keeps its slot; the adopter gives it back.
  if (options_.admission != nullptr && !relay->handed_over()) {
    options_.admission->ReleaseConnection();
  }
  options_.loop->DeferDelete(std::move(it->second));
  relays_.erase(it);
  if (on_relay_closed_) on_relay_closed_();
}

}  // namespace proxynode
