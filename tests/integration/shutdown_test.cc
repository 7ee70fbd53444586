// SIGTERM: the node stops being ready, answers what is in flight (saying Connection: close),
// closes idle connections, and exits 0; a second signal closes what is left at once.

#include <signal.h>

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

// Waits until the node has parsed `count` request heads in all, i.e. they are in flight.
bool WaitForRequests(NodeProcess& node, double count) {
  return WaitUntil([&] { return node.MetricSum("proxynode_requests_total") >= count; }, 5s);
}

bool ReadyzIs(NodeProcess& node, int status) {
  std::optional<HttpResponse> readyz = node.AdminGet("/readyz");
  return readyz && readyz->status == status;
}

TEST(ShutdownTest, DrainAnswersEveryInFlightRequestThenExitsZero) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=500ms", "--workers=2"}));
  constexpr int kClients = 50;
  std::vector<HttpClient> clients;
  ASSERT_TRUE(ConnectAndSend(node.http_port(), kClients, GetRequest(), &clients));
  // Every request parsed and waiting on its 500 ms timer: the drain must carry them.
  ASSERT_TRUE(WaitForRequests(node, kClients));
  EXPECT_TRUE(ReadyzIs(node, 200));

  ASSERT_TRUE(node.Signal(SIGTERM));
  // The signal is handled asynchronously, so poll; responses are still owed at this point
  // (and the node cannot exit while our connections wait for them), so the admin listener
  // is still up.
  EXPECT_TRUE(WaitUntil([&] { return ReadyzIs(node, 503); }, 2s));
  std::optional<HttpResponse> healthz = node.AdminGet("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);

  for (int i = 0; i < kClients; ++i) {
    HttpClient& client = clients[static_cast<size_t>(i)];
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "client " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "client " << i;
    EXPECT_EQ(response->body, "Hello World\n") << "client " << i;
    EXPECT_TRUE(response->ConnectionClose()) << "client " << i;
    EXPECT_TRUE(client.IsClosedByPeer()) << "client " << i << ": " << client.error();
    client.Close();
  }

  std::optional<ExitStatus> exit = node.WaitExit(10s);
  ASSERT_TRUE(exit) << "still running 10 s after the drain";
  EXPECT_EQ(exit->ToString(), "exit 0");
}

TEST(ShutdownTest, IdleKeepAliveConnectionIsClosedAndExitIsQuick) {
  NodeProcess node;
  // A drain timeout far above the wait below: exiting in time means nothing waited for it.
  ASSERT_TRUE(node.Start({"--delay=0s", "--drain_timeout=30s"}));
  HttpClient client = ConnectTo(node.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  ASSERT_EQ(response->status, 200);
  ASSERT_FALSE(response->ConnectionClose());

  ASSERT_TRUE(node.Signal(SIGTERM));

  EXPECT_TRUE(client.IsClosedByPeer(5s)) << client.error();
  std::optional<ExitStatus> exit = node.WaitExit(5s);
  ASSERT_TRUE(exit) << "still running 5 s after SIGTERM with only an idle connection";
  EXPECT_EQ(exit->ToString(), "exit 0");
}

TEST(ShutdownTest, SecondSignalClosesWhatIsLeftAtOnce) {
  NodeProcess node;
  // One worker, so the parsed request proves its loop is running before the signals. With
  // more, a worker thread that has not yet entered EventLoop::Run() when the node stops
  // never exits (Run() clears stop_), a separate start-up race this test would hit at times.
  ASSERT_TRUE(node.Start({"--delay=30s", "--drain_timeout=30s", "--workers=1"}));
  HttpClient client = ConnectTo(node.http_port());
  ASSERT_TRUE(client.Send(GetRequest()));
  ASSERT_TRUE(WaitForRequests(node, 1));

  ASSERT_TRUE(node.Signal(SIGTERM));
  // Two signals sent back to back may merge into one: wait until the first is handled.
  ASSERT_TRUE(WaitUntil([&] { return ReadyzIs(node, 503); }, 2s));
  ASSERT_TRUE(node.Signal(SIGTERM));

  std::optional<ExitStatus> exit = node.WaitExit(5s);
  ASSERT_TRUE(exit) << "still running 5 s after the second SIGTERM";
  EXPECT_EQ(exit->ToString(), "exit 0");
  // The request was never answered: the connection just ends.
  std::optional<std::string> rest = client.ReadUntilClosed(1s);
  ASSERT_TRUE(rest) << client.error();
  EXPECT_EQ(*rest, "");
}

}  // namespace
}  // namespace proxynode::testing
