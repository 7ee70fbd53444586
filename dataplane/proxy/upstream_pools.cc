#include "dataplane/proxy/upstream_pools.h"

#include "absl/container/flat_hash_set.h"

namespace proxynode {
namespace {

// "host" of "host:port", "v6" of "[v6]:port".
std::string_view HostOf(std::string_view host_port) {
  const size_t colon = host_port.rfind(':');
  std::string_view host = host_port.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

constexpr Nanos kSweepInterval = 5 * kSecond;
}  // namespace

UpstreamPools::UpstreamPools(EventLoop& loop, BufferPool& buffers, ProxyStatsRegistry& registry,
                             int worker, nghttp2_mem* http2_memory)
    : loop_(loop),
      buffers_(buffers),
      registry_(registry),
      worker_(worker),
      http2_memory_(http2_memory),
      sweep_timer_(loop.timers(), [this] { CloseStaleIdle(); }) {}

void UpstreamPools::Sync(const ConfigSnapshot& config) {
  absl::flat_hash_set<std::string> configured;
  for (const RouteConfig& route : config.routes) {
    ForRoute(route.prefix);
    for (const Upstream& upstream : route.upstreams) {
      configured.insert(upstream.address);
      ForUpstream(upstream.address).SetRetired(false);
    }
  }
  for (auto& [address, pool] : pools_) {
    if (!configured.contains(address)) {
      pool->SetRetired(true);
    }
  }
  if (!pools_.empty() && !sweep_timer_.armed()) {
    sweep_timer_.ArmAt(loop_.now() + kSweepInterval);
  }
}

UpstreamPool* UpstreamPools::Pick(const RouteConfig& route, RouteState& state, MonoTime now,
                                  const UpstreamPool* avoid, size_t* index) {
  const size_t count = route.upstreams.size();
  if (count == 0) {
    return nullptr;
  }
  UpstreamPool* best = nullptr;
  size_t best_index = 0;
  // Preference: not ejected, not `avoid`; then by balancing rule. Scanning from the
  // round-robin position makes ties rotate under least-outstanding too.
  auto rank = [&](UpstreamPool* pool) {
    return (pool->ejected(now) ? 2 : 0) + (pool == avoid ? 1 : 0);
  };
  auto better = [&](UpstreamPool* candidate, UpstreamPool* current) {
    const int candidate_rank = rank(candidate);
    const int current_rank = rank(current);
    if (candidate_rank != current_rank) return candidate_rank < current_rank;
    if (candidate_rank >= 2) return candidate->ejected_until() < current->ejected_until();
    return route.balancing == LoadBalancing::kLeastOutstanding &&
           candidate->outstanding() < current->outstanding();
  };
  const uint64_t start = state.next++;
  for (size_t step = 0; step < count; ++step) {
    const size_t i = static_cast<size_t>((start + step) % count);
    UpstreamPool* pool = &ForUpstream(route.upstreams[i].address);
    if (best == nullptr || better(pool, best)) {
      best = pool;
      best_index = i;
    }
    if (route.balancing == LoadBalancing::kRoundRobin && rank(best) == 0) {
      break;  // the first healthy one in rotation order
    }
  }
  *index = best_index;
  return best;
}

RouteState& UpstreamPools::ForRoute(const std::string& prefix) {
  auto it = routes_.find(prefix);
  if (it == routes_.end()) {
    auto state = std::make_unique<RouteState>();
    state->stats = registry_.ForRoute(worker_, prefix);
    it = routes_.emplace(prefix, std::move(state)).first;
  }
  return *it->second;
}

UpstreamPool& UpstreamPools::ForUpstream(const std::string& address) {
  auto it = pools_.find(address);
  if (it == pools_.end()) {
    it = pools_
             .emplace(address, std::make_unique<UpstreamPool>(
                                   loop_, buffers_, address,
                                   registry_.ForUpstream(worker_, address), http2_memory_))
             .first;
  }
  return *it->second;
}

void UpstreamPools::CloseStaleIdle() {
  for (auto& [address, pool] : pools_) {
    pool->CloseStaleIdle(loop_.now());
  }
  sweep_timer_.ArmAt(loop_.now() + kSweepInterval);
}

UpstreamTarget UpstreamPools::PickTarget(const RouteConfig& route, RouteState& state, MonoTime now,
                                         const UpstreamPool* avoid) {
  UpstreamTarget target;
  size_t index = 0;
  target.pool = Pick(route, state, now, avoid, &index);
  const Upstream& upstream = route.upstreams[index];
  target.address_text = &upstream.address;
  target.address = upstream.resolved;
  if (target.address.length == 0) {
    // Not resolved by the control plane (a config built in-process): literals only.
    auto parsed = ParseSocketAddress(upstream.address);
    if (parsed.ok()) target.address = *parsed;
  }
  if (route.uses_tls()) {
    target.tls.context = route.tls.context.get();
    target.tls.server_name = route.upstream_tls && !route.upstream_tls->server_name.empty()
                                 ? std::string_view(route.upstream_tls->server_name)
                                 : HostOf(upstream.address);
  }
  return target;
}

}  // namespace proxynode
