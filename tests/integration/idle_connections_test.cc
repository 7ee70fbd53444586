// Idle keep-alive connections: what each one costs the node, and that each still closes on
// its own idle deadline now that one per-worker list and timer keep them
// (dataplane/server/idle_connections.h) instead of a timer per connection.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/fd_limit.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/process_rss.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using abuse::kSanitized;
using abuse::kSlack;

// Descriptors kept back for everything else this process opens.
constexpr size_t kFdReserve = 200;

// Opens `count` connections that each make one request and then stay idle.
void OpenServedConnections(NodeProcess& node, size_t count, std::vector<HttpClient>& held) {
  for (size_t i = 0; i < count; ++i) {
    HttpClient client = ConnectTo(node.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "connection " << held.size() << ": " << client.error();
    ASSERT_EQ(response->status, 200);
    held.push_back(std::move(client));
  }
}

// An idle connection keeps its small fixed state and nothing else: no buffer, no parser, no
// timer (those come from the worker's pools while a request is in progress). Before this
// design each idle connection cost the node 550-680 bytes; now about 150-190.
TEST(IdleConnectionsTest, AnIdleConnectionCostsUnder300BytesOfNodeMemory) {
  if (kSanitized) {
    GTEST_SKIP() << "sanitizer allocators add redzones and quarantine: RSS says nothing here";
  }
  const size_t budget = ConnectionBudget(4100, kFdReserve);
  if (budget < 2100) {
    GTEST_SKIP() << "needs 2,100 descriptors, has " << budget;
  }
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  std::vector<HttpClient> held;
  held.reserve(budget);
  // Warm-up: the worker's pools, hash map and caches take their first memory here.
  OpenServedConnections(node, 100, held);
  std::this_thread::sleep_for(200ms);
  const int64_t before_kib = ResidentKib(node.pid());

  const size_t measured = budget - 100;
  OpenServedConnections(node, measured, held);
  std::this_thread::sleep_for(200ms);
  const int64_t after_kib = ResidentKib(node.pid());
  ASSERT_GT(before_kib, 0);

  const double bytes_per_connection =
      static_cast<double>(after_kib - before_kib) * 1024.0 / static_cast<double>(measured);
  std::printf("%zu idle connections: node RSS %lld -> %lld KiB, %.0f bytes per connection\n",
              measured, static_cast<long long>(before_kib), static_cast<long long>(after_kib),
              bytes_per_connection);
  EXPECT_LT(bytes_per_connection, 300.0);
  // And they all still work.
  for (size_t i = 0; i < held.size(); i += 97) {
    std::optional<HttpResponse> response = held[i].RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "connection " << i << ": " << held[i].error();
    EXPECT_EQ(response->status, 200);
  }
}

// A connection waiting on its delay has read its request: it keeps no read buffer either
// (16 KiB each; with 19,000 connections waiting that was 300 MiB).
TEST(IdleConnectionsTest, ConnectionsWaitingOnTheirDelayHoldNoReadBuffer) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=3s", "--workers=1"}));
  constexpr int kWaiting = 200;
  std::vector<HttpClient> clients;
  ASSERT_TRUE(ConnectAndSend(node.http_port(), kWaiting, GetRequest(), &clients));
  WaitUntil([&] { return node.MetricSum("proxynode_node_pending_requests") >= kWaiting; }, 2s);
  ASSERT_EQ(node.MetricSum("proxynode_node_pending_requests"), kWaiting);
  EXPECT_LT(node.MetricSum("proxynode_buffer_blocks_in_use"), 5);
  for (HttpClient& client : clients) {
    std::optional<HttpResponse> response = client.ReadResponse(false, 3s + kSlack);
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200);
  }
}

// Each connection's idle deadline counts from its own last activity: one that went idle later
// outlives one that went idle earlier.
TEST(IdleConnectionsTest, EachConnectionTimesOutFromItsOwnLastActivity) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1", "--idle_timeout=2s"}));
  HttpClient early = ConnectTo(node.http_port());
  ASSERT_TRUE(early.RoundTrip(GetRequest())) << early.error();
  std::this_thread::sleep_for(1500ms);
  HttpClient late = ConnectTo(node.http_port());
  ASSERT_TRUE(late.RoundTrip(GetRequest())) << late.error();

  EXPECT_TRUE(early.IsClosedByPeer(1500ms + kSlack)) << early.error();
  // `late` has about 1.5 s left when `early` goes.
  EXPECT_FALSE(late.IsClosedByPeer(0ms)) << "closed with the earlier connection";
  EXPECT_TRUE(late.IsClosedByPeer(2500ms + kSlack)) << late.error();
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total", R"(reason="idle_timeout")"), 2);
}

// A connection in use leaves the idle list and rejoins it at the back each time: requests
// every 300 ms keep it open well past the 1 s idle timeout, while a connection beside it that
// stays idle closes.
TEST(IdleConnectionsTest, AConnectionInUseOutlivesTheIdleTimeout) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1", "--idle_timeout=1s"}));
  HttpClient busy = ConnectTo(node.http_port());
  HttpClient idle = ConnectTo(node.http_port());
  ASSERT_TRUE(idle.RoundTrip(GetRequest())) << idle.error();

  const auto end = std::chrono::steady_clock::now() + 3s;
  int requests = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::optional<HttpResponse> response = busy.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "request " << requests << ": " << busy.error();
    ASSERT_EQ(response->status, 200);
    ++requests;
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_GE(requests, 5);
  EXPECT_TRUE(idle.IsClosedByPeer(0ms + kSlack)) << idle.error();
  EXPECT_TRUE(busy.IsClosedByPeer(1s + kSlack)) << busy.error();
}

}  // namespace
}  // namespace proxynode::testing
