#include "dataplane/stats/proxy_stats.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

TEST(ProxyStatsRegistryTest, EmptyRegistryCollectsNothing) {
  ProxyStatsRegistry registry;
  const ProxyStatsSnapshot snapshot = registry.Collect();
  EXPECT_TRUE(snapshot.upstreams.empty());
  EXPECT_TRUE(snapshot.routes.empty());
}

TEST(ProxyStatsRegistryTest, SameWorkerAndKeyGetTheSameEntry) {
  ProxyStatsRegistry registry;
  auto first = registry.ForUpstream(0, "127.0.0.1:8081");
  EXPECT_EQ(registry.ForUpstream(0, "127.0.0.1:8081"), first);
  EXPECT_NE(registry.ForUpstream(1, "127.0.0.1:8081"), first);
  EXPECT_NE(registry.ForUpstream(0, "127.0.0.1:8082"), first);
  auto route = registry.ForRoute(2, "/api/");
  EXPECT_EQ(registry.ForRoute(2, "/api/"), route);
  EXPECT_NE(registry.ForRoute(2, "/"), route);
}

TEST(ProxyStatsRegistryTest, TwoWorkersOfOneUpstreamAreSummed) {
  ProxyStatsRegistry registry;
  auto a = registry.ForUpstream(0, "10.0.0.1:80");
  auto b = registry.ForUpstream(1, "10.0.0.1:80");
  a->requests.Add(5);
  a->connects.Add(1);
  a->reused.Add(4);
  a->errors.connect_timeout.Add(1);
  a->open_connections.Set(1);
  a->idle_connections.Set(1);
  b->requests.Add(7);
  b->connects.Add(2);
  b->ejections.Add(1);
  b->errors.broken.Add(2);
  b->errors.connect_timeout.Add(3);
  b->open_connections.Set(2);
  b->outstanding.Set(2);

  const ProxyStatsSnapshot snapshot = registry.Collect();
  ASSERT_EQ(snapshot.upstreams.size(), 1u);
  const UpstreamStatsValues& u = snapshot.upstreams[0];
  EXPECT_EQ(u.address, "10.0.0.1:80");
  EXPECT_EQ(u.requests, 12u);
  EXPECT_EQ(u.connects, 3u);
  EXPECT_EQ(u.reused, 4u);
  EXPECT_EQ(u.ejections, 1u);
  EXPECT_EQ(u.errors.connect_timeout, 4u);
  EXPECT_EQ(u.errors.broken, 2u);
  EXPECT_EQ(u.errors.connect_failed, 0u);
  EXPECT_EQ(u.errors_total(), 6u);
  EXPECT_EQ(u.open_connections, 3);
  EXPECT_EQ(u.idle_connections, 1);
  EXPECT_EQ(u.outstanding, 2);
}

TEST(ProxyStatsRegistryTest, TwoWorkersOfOneRouteAreSummed) {
  ProxyStatsRegistry registry;
  auto a = registry.ForRoute(0, "/api/");
  auto b = registry.ForRoute(3, "/api/");
  a->requests.Add(10);
  a->delayed.Add(4);
  b->requests.Add(2);
  b->errors.Add(1);
  const ProxyStatsSnapshot snapshot = registry.Collect();
  ASSERT_EQ(snapshot.routes.size(), 1u);
  EXPECT_EQ(snapshot.routes[0].prefix, "/api/");
  EXPECT_EQ(snapshot.routes[0].requests, 12u);
  EXPECT_EQ(snapshot.routes[0].delayed, 4u);
  EXPECT_EQ(snapshot.routes[0].errors, 1u);
}

TEST(ProxyStatsRegistryTest, KeysAreSortedWhateverTheOrderOfRegistration) {
  ProxyStatsRegistry registry;
  registry.ForUpstream(1, "c:1");
  registry.ForUpstream(0, "a:1");
  registry.ForUpstream(0, "c:1");
  registry.ForUpstream(2, "b:1");
  registry.ForUpstream(1, "a:1");
  registry.ForRoute(0, "/z");
  registry.ForRoute(1, "/");
  registry.ForRoute(0, "/api/");
  const ProxyStatsSnapshot snapshot = registry.Collect();
  ASSERT_EQ(snapshot.upstreams.size(), 3u);
  EXPECT_EQ(snapshot.upstreams[0].address, "a:1");
  EXPECT_EQ(snapshot.upstreams[1].address, "b:1");
  EXPECT_EQ(snapshot.upstreams[2].address, "c:1");
  ASSERT_EQ(snapshot.routes.size(), 3u);
  EXPECT_EQ(snapshot.routes[0].prefix, "/");
  EXPECT_EQ(snapshot.routes[1].prefix, "/api/");
  EXPECT_EQ(snapshot.routes[2].prefix, "/z");
}

TEST(ProxyStatsRegistryTest, HistogramsOfWorkersAreMerged) {
  ProxyStatsRegistry registry;
  auto a = registry.ForUpstream(0, "u:1");
  auto b = registry.ForUpstream(1, "u:1");
  for (int i = 0; i < 90; ++i) a->latency.Record(10 * kMillisecond);
  for (int i = 0; i < 10; ++i) b->latency.Record(500 * kMillisecond);
  auto route_a = registry.ForRoute(0, "/");
  auto route_b = registry.ForRoute(1, "/");
  route_a->latency.Record(1 * kMillisecond);
  route_b->latency.Record(2 * kMillisecond);

  const ProxyStatsSnapshot snapshot = registry.Collect();
  const HistogramSnapshot& latency = snapshot.upstreams.at(0).latency;
  EXPECT_EQ(latency.count(), 100u);
  EXPECT_NEAR(static_cast<double>(latency.Percentile(0.5)), 10e6, 10e6 * 0.01);
  EXPECT_NEAR(static_cast<double>(latency.Percentile(0.99)), 500e6, 500e6 * 0.01);
  EXPECT_EQ(snapshot.routes.at(0).latency.count(), 2u);
}

TEST(ProxyStatsRegistryTest, TotalsNeverGoBackWhileAWorkerWrites) {
  // Run under ThreadSanitizer: a worker registers and writes while another thread collects.
  ProxyStatsRegistry registry;
  std::atomic<bool> done{false};
  std::thread writer([&registry, &done] {
    for (int round = 0; round < 2000; ++round) {
      auto upstream = registry.ForUpstream(round % 4, "u:" + std::to_string(round % 8));
      upstream->requests.Add();
      upstream->open_connections.Add(1);
      upstream->latency.Record(round * kMicrosecond);
      registry.ForRoute(round % 4, "/r" + std::to_string(round % 3))->requests.Add();
    }
    done.store(true);
  });
  uint64_t previous = 0;
  while (!done.load()) {
    uint64_t sum = 0;
    for (const UpstreamStatsValues& u : registry.Collect().upstreams) sum += u.requests;
    EXPECT_GE(sum, previous);
    previous = sum;
  }
  writer.join();
  uint64_t requests = 0;
  for (const UpstreamStatsValues& u : registry.Collect().upstreams) requests += u.requests;
  EXPECT_EQ(requests, 2000u);
}

}  // namespace
}  // namespace proxynode
