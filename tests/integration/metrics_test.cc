// The admin listener: health endpoints and the Prometheus counters and gauges, checked
// against traffic the test itself sent.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

TEST(MetricsTest, HealthAndReadiness) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({}));

  std::optional<HttpResponse> healthz = node.AdminGet("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  std::optional<HttpResponse> readyz = node.AdminGet("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  std::optional<HttpResponse> metrics = node.AdminGet("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("proxynode_requests_total{worker=\"0\"}"), std::string::npos);
}

TEST(MetricsTest, CountersMatchTheTrafficAndConnectionsReturnToZero) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  constexpr int kClients = 5;
  constexpr int kRequestsPerClient = 4;

  std::vector<HttpClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(ConnectTo(node.http_port()));
  for (HttpClient& client : clients) {
    for (int i = 0; i < kRequestsPerClient; ++i) {
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
      ASSERT_TRUE(response) << client.error();
      ASSERT_EQ(response->status, 200);
    }
  }
  // Counted before each response left, so exact now; summed over the workers.
  constexpr double kRequests = kClients * kRequestsPerClient;
  EXPECT_EQ(node.MetricSum("proxynode_requests_total"), kRequests);
  EXPECT_EQ(node.MetricSum("proxynode_responses_2xx_total"), kRequests);
  EXPECT_EQ(node.MetricSum("proxynode_responses_4xx_total"), 0);
  EXPECT_EQ(node.MetricSum("proxynode_responses_5xx_total"), 0);
  EXPECT_EQ(node.MetricSum("proxynode_connections_active"), kClients);

  for (HttpClient& client : clients) client.Close();
  // The node sees the closes asynchronously: poll the gauge.
  EXPECT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_connections_active") == 0; }, 2s))
      << "connections_active = " << node.MetricSum("proxynode_connections_active");
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total"), kClients);
}

// A client that gives up in the middle of a request body: its connection must be released
// like any other.
TEST(MetricsTest, ConnectionClosedMidBodyIsReleased) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc"));
  ASSERT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_requests_total") == 1; }, 2s));

  client.Close();
  EXPECT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_connections_active") == 0; }, 2s))
      << "connections_active = " << node.MetricSum("proxynode_connections_active");
}

}  // namespace
}  // namespace proxynode::testing
