// TCP proxies (issue 19): created, changed and removed live; bytes relayed intact both ways,
// half-closes passed on, the zero-copy path counted; bad configs refused naming the field.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/tcp_proxy_fixture.h"
#include "tests/testing/body_pattern.h"

namespace proxynode::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TcpProxyTest : public TcpProxyFixture {
 protected:
  void SetUp() override { ASSERT_TRUE(StartTcpNode()); }
};

TEST_F(TcpProxyTest, PortZeroIsReplacedByTheBoundPortInTheConfig) {
  const uint16_t port = SetEchoProxy({});
  ASSERT_NE(port, 0);
  v1::NodeConfig config;
  ASSERT_TRUE(control_->GetConfig(&config).ok());
  ASSERT_EQ(config.tcp_proxies_size(), 1);
  EXPECT_EQ(config.tcp_proxies(0).listen(), "127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(config.tcp_proxies(0).enabled());
}

TEST_F(TcpProxyTest, RelaysBytesIntactBothWaysAndPassesAHalfClose) {
  const uint16_t port = SetEchoProxy({});
  TcpClient client(port);
  ASSERT_TRUE(client.connected());
  std::string echoed;
  client.RoundTrip("hello\n", &echoed);
  EXPECT_EQ(echoed, "hello\n");
  // A small burst is copied (one recv, one send), not spliced.
  EXPECT_EQ(ProxyStats("echo").bytes_spliced(), 0u);

  // 8 MiB of a pattern, sent while it comes back (the echo would stall a client that sent
  // everything before reading).
  std::string bulk(8 << 20, '\0');
  FillPattern(0, bulk.data(), bulk.size());
  std::thread sender([&] { EXPECT_TRUE(client.Send(bulk)); });
  std::string back;
  EXPECT_EQ(client.Receive(bulk.size(), seconds(30), &back), TcpClient::End::kData);
  sender.join();
  EXPECT_TRUE(back == bulk) << "the relayed bytes differ from those sent";

  client.ShutdownWrite();  // the echo answers our FIN with its own, through the proxy
  EXPECT_EQ(client.WaitForEnd(seconds(5)), TcpClient::End::kEof);

  const v1::TcpProxyStats stats = ProxyStats("echo");
  EXPECT_EQ(stats.connections(), 1u);
  EXPECT_EQ(stats.bytes_upstream(), bulk.size() + 6);
  EXPECT_EQ(stats.bytes_downstream(), bulk.size() + 6);
  // No toxic: the bulk took the zero-copy path (all but the first block of a burst).
  EXPECT_GT(stats.bytes_spliced(), bulk.size() / 4);
  EXPECT_LE(stats.bytes_spliced(), 2 * bulk.size());
  EXPECT_TRUE(WaitUntil([&] { return ProxyStats("echo").active() == 0; }, seconds(5)));
  // /metrics says the same.
  EXPECT_EQ(
      proxy_.MetricSum("proxynode_tcp_proxy_bytes_total", R"(proxy="echo",direction="upstream")"),
      static_cast<double>(bulk.size() + 6));
  EXPECT_EQ(proxy_.MetricSum("proxynode_tcp_proxy_connections_total", R"(proxy="echo")"), 1);
}

TEST_F(TcpProxyTest, ListConnectionsShowsRelaysWithTheirProxy) {
  const uint16_t port = SetEchoProxy({});
  TcpClient client(port);
  std::string echoed;
  client.RoundTrip("x", &echoed);
  v1::ListConnectionsResponse list;
  ASSERT_TRUE(control_->ListConnections(0, &list).ok());
  ASSERT_EQ(list.connections_size(), 1);
  EXPECT_EQ(list.connections(0).tcp_proxy(), "echo");
  EXPECT_EQ(list.connections(0).upstream(), "127.0.0.1:" + std::to_string(echo_.port()));
  EXPECT_EQ(list.connections(0).state(), "relaying");
  EXPECT_EQ(list.connections(0).bytes_in(), 1u);
}

TEST_F(TcpProxyTest, RemovingAProxyClosesItsConnectionsAndFreesItsPort) {
  const uint16_t port = SetEchoProxy({});
  TcpClient client(port);
  std::string echoed;
  client.RoundTrip("x", &echoed);
  ASSERT_TRUE(SetProxies({}));
  EXPECT_EQ(client.WaitForEnd(seconds(5)), TcpClient::End::kEof);
  TcpClient refused(port);
  EXPECT_FALSE(refused.connected());
  // The same address binds again at once.
  EXPECT_EQ(SetEchoProxy({}, "127.0.0.1:" + std::to_string(port)), port);
  TcpClient again(port);
  again.RoundTrip("y", &echoed);
  EXPECT_EQ(echoed, "xy");
}

TEST_F(TcpProxyTest, DisablingClosesConnectionsAndEnablingListensAgain) {
  const uint16_t port = SetEchoProxy({});
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  TcpClient client(port);
  std::string echoed;
  client.RoundTrip("x", &echoed);
  v1::TcpProxy disabled = TcpProxy("echo", echo_.port(), listen);
  disabled.set_enabled(false);
  ASSERT_TRUE(SetProxies({disabled}));
  EXPECT_EQ(client.WaitForEnd(seconds(5)), TcpClient::End::kEof);
  EXPECT_FALSE(TcpClient(port).connected());
  ASSERT_TRUE(SetProxies({TcpProxy("echo", echo_.port(), listen)}));
  TcpClient again(port);
  EXPECT_TRUE(again.connected());
}

TEST_F(TcpProxyTest, AToxicChangeKeepsConnectionsOpen) {
  const uint16_t port = SetEchoProxy({});
  TcpClient client(port);
  std::string echoed;
  client.RoundTrip("a", &echoed);
  SetEchoProxy({LatencyToxic("slow", 1)}, "127.0.0.1:" + std::to_string(port));
  client.RoundTrip("b", &echoed);
  EXPECT_EQ(echoed, "ab");
  EXPECT_EQ(echo_.accepted(), 1);
}

TEST_F(TcpProxyTest, RelaysMoveToTheWorkersLeftWhenWorkersAreRetired) {
  const uint16_t port = SetEchoProxy({LatencyToxic("slow", 300)});
  std::vector<std::unique_ptr<TcpClient>> clients;
  std::string echoed;
  for (int i = 0; i < 16; ++i) {  // both workers accept some
    clients.push_back(std::make_unique<TcpClient>(port));
    clients.back()->RoundTrip("a", &echoed);
  }
  // One relay has bytes held by its toxic when the change comes: it moves once they left.
  ASSERT_TRUE(clients[0]->Send("held"));
  v1::NodeConfig config;
  config.set_workers(1);
  ASSERT_TRUE(control_->Update(config, {"workers"}).ok());
  std::string held;
  EXPECT_EQ(clients[0]->Receive(4, seconds(5), &held), TcpClient::End::kData);
  EXPECT_EQ(held, "held");
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::ListConnectionsResponse list;
        if (!control_->ListConnections(0, &list).ok() || list.connections_size() != 16) {
          return false;
        }
        for (const v1::Connection& row : list.connections()) {
          if (row.worker() != 0) return false;
        }
        return true;
      },
      seconds(10)))
      << "every relay on worker 0";
  for (auto& client : clients) {
    std::string again;
    client->RoundTrip("b", &again);
    EXPECT_EQ(again, "b");
  }
  const v1::TcpProxyStats stats = ProxyStats("echo");
  EXPECT_EQ(stats.connections(), 16u);
  EXPECT_EQ(stats.active(), 16);
  EXPECT_EQ(echo_.accepted(), 16);
  // Each relay's connection slot moved with it: none freed twice, none taken again.
  EXPECT_EQ(proxy_.MetricSum("proxynode_node_connections"), 16);
}

// Relays keep the workers even, as client connections do (server/accept_share.h): a worker
// past its share stops accepting until the others catch up. (EPOLLEXCLUSIVE alone tends to
// wake the same worker: 64 connections on one worker were seen.)
TEST_F(TcpProxyTest, RelaysAreSpreadOverTheWorkers) {
  const uint16_t port = SetEchoProxy({});
  std::vector<std::unique_ptr<TcpClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<TcpClient>(port));
    std::string echoed;
    clients.back()->RoundTrip("s", &echoed);
  }
  v1::ListConnectionsResponse list;
  ASSERT_TRUE(control_->ListConnections(0, &list).ok());
  ASSERT_EQ(list.connections_size(), 20);
  int on_first = 0;
  for (const v1::Connection& row : list.connections()) on_first += row.worker() == 0 ? 1 : 0;
  EXPECT_GE(on_first, 6) << "worker 0 holds " << on_first << " of 20";
  EXPECT_LE(on_first, 14) << "worker 0 holds " << on_first << " of 20";
}

// A relay holds one of max_connections' slots, as a client connection does; past the limit
// a new connection to the proxy closes at once, counted.
TEST_F(TcpProxyTest, MaxConnectionsCapsRelaysWithClientConnections) {
  v1::NodeConfig limit;
  limit.set_max_connections(2);
  ASSERT_TRUE(control_->Update(limit, {"max_connections"}).ok());
  const uint16_t port = SetEchoProxy({});
  std::string echoed;
  auto first = std::make_unique<TcpClient>(port);
  first->RoundTrip("1", &echoed);
  TcpClient second(port);
  std::string echoed_second;
  second.RoundTrip("2", &echoed_second);
  EXPECT_EQ(echoed_second, "2");

  TcpClient refused(port);
  EXPECT_EQ(refused.WaitForEnd(seconds(5)), TcpClient::End::kEof);
  EXPECT_EQ(ProxyStats("echo").refused(), 1u);
  EXPECT_EQ(proxy_.MetricSum("proxynode_rejected_total", R"(reason="max_connections")"), 1);
  EXPECT_EQ(echo_.accepted(), 2) << "the refused connection reached the upstream";

  first.reset();  // its slot comes back
  ASSERT_TRUE(
      WaitUntil([&] { return proxy_.MetricSum("proxynode_node_connections") == 1; }, seconds(5)));
  TcpClient third(port);
  std::string echoed_third;
  third.RoundTrip("3", &echoed_third);
  EXPECT_EQ(echoed_third, "3");
}

TEST_F(TcpProxyTest, AnUpstreamThatRefusesClosesTheClientAndCounts) {
  // A port nothing listens on: bound and closed again.
  uint16_t dead_port = 0;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetProxies({TcpProxy("dead", dead_port)}, &response));
  const std::string& listen = response.config().tcp_proxies(0).listen();
  TcpClient client(static_cast<uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1))));
  const TcpClient::End end = client.WaitForEnd(seconds(5));
  EXPECT_TRUE(end == TcpClient::End::kEof || end == TcpClient::End::kReset) << EndName(end);
  EXPECT_TRUE(WaitUntil([&] { return ProxyStats("dead").connect_failures() == 1; }, seconds(5)));
}

TEST_F(TcpProxyTest, AnAddressInUseRefusesTheUpdateNamingTheProxy) {
  const uint16_t port = SetEchoProxy({});
  v1::NodeConfig config;
  *config.add_tcp_proxies() = TcpProxy("echo", echo_.port(), "127.0.0.1:" + std::to_string(port));
  *config.add_tcp_proxies() =
      TcpProxy("clash", echo_.port(), "127.0.0.1:" + std::to_string(echo_.port()));
  v1::UpdateConfigResponse response;
  grpc::Status status = control_->Update(config, {"tcp_proxies"}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("tcp_proxies[clash].listen"), std::string::npos)
      << status.error_message();
  // Nothing changed: the first proxy still relays.
  TcpClient client(port);
  std::string echoed;
  client.RoundTrip("z", &echoed);
  EXPECT_EQ(echoed, "z");
}

TEST_F(TcpProxyTest, BadProxiesAreRefusedNamingTheField) {
  struct Case {
    v1::TcpProxy proxy;
    std::string field;
  };
  v1::TcpProxy no_port = TcpProxy("a", echo_.port());
  no_port.set_upstream("127.0.0.1");
  v1::TcpProxy bad_name = TcpProxy("a b", echo_.port());
  v1::TcpProxy bad_toxicity = TcpProxy("t", echo_.port());
  v1::Toxic toxic = LatencyToxic("lat", 10);
  toxic.set_toxicity(1.5);
  *bad_toxicity.add_toxics() = toxic;
  v1::TcpProxy no_type = TcpProxy("u", echo_.port());
  no_type.add_toxics()->set_name("typeless");
  for (const Case& c :
       {Case{no_port, "tcp_proxies[a].upstream"}, Case{bad_name, "tcp_proxies.name"},
        Case{bad_toxicity, "tcp_proxies[t].toxics[lat].toxicity"},
        Case{no_type, "tcp_proxies[u].toxics[0]"}}) {
    v1::NodeConfig config;
    *config.add_tcp_proxies() = c.proxy;
    grpc::Status status = control_->Update(config, {"tcp_proxies"});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_NE(status.error_message().find(c.field), std::string::npos) << status.error_message();
  }
}

TEST_F(TcpProxyTest, ADryRunBindsNothing) {
  v1::UpdateConfigRequest request;
  *request.mutable_config()->add_tcp_proxies() = TcpProxy("dry", echo_.port());
  request.mutable_update_mask()->add_paths("tcp_proxies");
  request.set_validate_only(true);
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(control_->UpdateConfig(request, &response).ok());
  EXPECT_TRUE(response.dry_run());
  ASSERT_FALSE(response.diff().empty());
  EXPECT_EQ(response.diff(0).field(), "tcp_proxies[dry]");
  v1::NodeConfig config;
  ASSERT_TRUE(control_->GetConfig(&config).ok());
  EXPECT_EQ(config.tcp_proxies_size(), 0);
}

}  // namespace
}  // namespace proxynode::testing
