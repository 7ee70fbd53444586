#pragma once

// A worker's side of the reverse proxy: its UpstreamPool per upstream address and its state
// per route (round-robin position, stats), kept in step with the config, and the choice of
// upstream for a request.
//
// Pools are keyed by address, so a config update that keeps an upstream keeps its warm
// connections. An upstream dropped from the config is retired: its idle connections close,
// requests in flight on it finish (they hold their pool), and it is revived if it returns.
//
// Thread contract: loop thread of the owning worker only.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/proxy/upstream_pool.h"
#include "dataplane/stats/proxy_stats.h"

namespace proxynode {

// Where one attempt of a proxied request goes: the pool (per worker and address), the
// address, and TLS when the route asks for it.
struct UpstreamTarget {
  UpstreamPool* pool = nullptr;
  const std::string* address_text = nullptr;  // as configured, in the pinned snapshot
  SocketAddress address;
  UpstreamTls tls;  // tls.context null: plain TCP
  const UpstreamTls* tls_or_null() const { return tls.context != nullptr ? &tls : nullptr; }
};

struct RouteState {
  std::shared_ptr<RouteStats> stats;
  uint64_t next = 0;  // round-robin position
};

class UpstreamPools {
 public:
  // `http2_memory`: what the HTTP/2 client sessions allocate from (null: malloc).
  UpstreamPools(EventLoop& loop, BufferPool& buffers, ProxyStatsRegistry& registry, int worker,
                nghttp2_mem* http2_memory = nullptr);
  UpstreamPools(const UpstreamPools&) = delete;
  UpstreamPools& operator=(const UpstreamPools&) = delete;

  // Creates pools and route states for `config`, retires pools it no longer names.
  void Sync(const ConfigSnapshot& config);

  // The upstream of `route` to send the next request to, skipping ejected ones (when all are
  // ejected, the one whose back-off ends first: better a try than a certain failure) and
  // `avoid` when there is another choice (a retry goes elsewhere). `state` is the route's
  // (its round-robin position); `*index` is the chosen upstream's position.
  UpstreamPool* Pick(const RouteConfig& route, RouteState& state, MonoTime now,
                     const UpstreamPool* avoid, size_t* index);
  RouteState& ForRoute(const std::string& prefix);
  // Pick, then what connecting to the choice takes: its address (resolved by the control
  // plane, or a literal parsed here) and the route's TLS with the name to check.
  UpstreamTarget PickTarget(const RouteConfig& route, RouteState& state, MonoTime now,
                            const UpstreamPool* avoid);

 private:
  UpstreamPool& ForUpstream(const std::string& address);
  void CloseStaleIdle();

  EventLoop& loop_;
  BufferPool& buffers_;
  ProxyStatsRegistry& registry_;
  const int worker_;
  nghttp2_mem* const http2_memory_;
  absl::flat_hash_map<std::string, std::unique_ptr<UpstreamPool>> pools_;
  absl::flat_hash_map<std::string, std::unique_ptr<RouteState>> routes_;
  Timer sweep_timer_;
};

}  // namespace proxynode
