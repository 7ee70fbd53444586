// `proxyctl connections` and `proxyctl stats` with TCP relays (issue 19), against a fake
// control service in this process (the node's data plane fills these once it relays): a
// PROXY column (proxy -> upstream) when any connection is a relay, none otherwise; the
// TCP_PROXY table in stats; and -o json keeping the fields.

#include <memory>
#include <string>

#include "cli/commands.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeNode final : public proxynode::v1::ControlService::Service {
 public:
  bool relays = true;
  bool http2 = false;  // one HTTP/2 connection over TLS beside the HTTP/1.1 one

  grpc::Status ListConnections(grpc::ServerContext*, const proxynode::v1::ListConnectionsRequest*,
                               proxynode::v1::ListConnectionsResponse* response) override {
    proxynode::v1::Connection& http = *response->add_connections();
    http.set_id(1);
    http.set_peer("127.0.0.1:50000");
    http.set_state("idle");
    http.mutable_age()->set_seconds(20);
    http.set_protocol("http/1.1");
    if (http2) {
      proxynode::v1::Connection& h2 = *response->add_connections();
      h2.set_id(3);
      h2.set_peer("127.0.0.1:50002");
      h2.set_state("waiting");
      h2.mutable_age()->set_seconds(15);
      h2.set_protocol("h2");
      h2.set_tls_version("TLSv1.3");
    }
    if (relays) {
      proxynode::v1::Connection& relay = *response->add_connections();
      relay.set_id(2);
      relay.set_peer("127.0.0.1:50001");
      relay.set_state("relaying");
      relay.mutable_age()->set_seconds(10);
      relay.set_tcp_proxy("redis");
      relay.set_upstream("127.0.0.1:6379");
    }
    response->set_total(static_cast<uint32_t>(response->connections_size()));
    return grpc::Status::OK;
  }

  // WatchStats is preceded by a GetStats, a reachability probe with a deadline.
  grpc::Status GetStats(grpc::ServerContext*, const proxynode::v1::GetStatsRequest*,
                        proxynode::v1::Stats*) override {
    return grpc::Status::OK;
  }

  // `stats` samples two messages of WatchStats.
  grpc::Status WatchStats(grpc::ServerContext*, const proxynode::v1::WatchStatsRequest*,
                          grpc::ServerWriter<proxynode::v1::Stats>* writer) override {
    for (int64_t second : {1, 2}) {
      proxynode::v1::Stats stats;
      stats.mutable_uptime()->set_seconds(second);
      proxynode::v1::TcpProxyStats& redis = *stats.add_tcp_proxies();
      redis.set_name("redis");
      redis.set_connections(7);
      redis.set_active(1);
      redis.set_resets_injected(2);
      proxynode::v1::ToxicStats& toxic = *redis.add_toxics();
      toxic.set_name("latency_downstream");
      toxic.set_type("latency");
      toxic.set_applied(5);
      toxic.set_skipped(2);
      if (!writer->Write(stats)) break;
    }
    return grpc::Status::OK;
  }
};

class ReadCommandsTcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    context_.addresses = {"127.0.0.1:" + std::to_string(port)};
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // What `run` prints on stdout; its exit code must be 0.
  template <typename Run>
  std::string Output(Run run) {
    ::testing::internal::CaptureStdout();
    const int code = run();
    std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 0) << out;
    return out;
  }

  FakeNode fake_;
  std::unique_ptr<grpc::Server> server_;
  Context context_;
};

TEST_F(ReadCommandsTcpTest, ConnectionsShowTheProxyOfARelay) {
  const std::string out = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(out, ContainsRegex("^ID +PEER +WORKER +AGE +REQUESTS +STATE +BYTES_IN +BYTES_OUT +"
                                 "PROXY\n"));
  EXPECT_THAT(out, ContainsRegex("\n1 +127.0.0.1:50000 .* idle +0B +0B +-\n"));
  EXPECT_THAT(out, ContainsRegex("\n2 +127.0.0.1:50001 .* relaying +0B +0B +redis -> "
                                 "127.0.0.1:6379\n"));

  context_.json = true;
  const std::string json = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(json, HasSubstr("\"tcp_proxy\":\"redis\""));
  EXPECT_THAT(json, HasSubstr("\"upstream\":\"127.0.0.1:6379\""));
}

TEST_F(ReadCommandsTcpTest, ConnectionsOfSeveralNodesAlwaysHaveTheProxyColumn) {
  context_.all = true;
  const std::string out = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(out, ContainsRegex("^ADDR +ID +PEER +WORKER +AGE +REQUESTS +STATE +BYTES_IN +"
                                 "BYTES_OUT +PROTO +PROXY\n"));
  EXPECT_THAT(out, ContainsRegex(" relaying +0B +0B +- +redis -> 127.0.0.1:6379\n"));

  fake_.relays = false;  // an HTTP node in the same view: "-"
  const std::string http = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(http, ContainsRegex("BYTES_OUT +PROTO +PROXY\n"));
  EXPECT_THAT(http, ContainsRegex(" idle +0B +0B +http/1.1 +-\n"));
}

TEST_F(ReadCommandsTcpTest, NoRelaysNoProxyColumn) {
  fake_.relays = false;
  const std::string out = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(out, ContainsRegex("^ID +PEER +WORKER +AGE +REQUESTS +STATE +BYTES_IN +BYTES_OUT\n"));
  EXPECT_THAT(out, Not(HasSubstr("PROXY")));
  EXPECT_THAT(out, Not(HasSubstr("PROTO")));
}

TEST_F(ReadCommandsTcpTest, ConnectionsOverHttp2OrTlsShowTheirProtocol) {
  fake_.relays = false;
  fake_.http2 = true;
  const std::string out = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(out, ContainsRegex("^ID +PEER +WORKER +AGE +REQUESTS +STATE +BYTES_IN +BYTES_OUT +"
                                 "PROTO\n"));
  EXPECT_THAT(out, ContainsRegex("\n1 +127.0.0.1:50000 .* idle +0B +0B +http/1.1\n"));
  EXPECT_THAT(out, ContainsRegex("\n3 +127.0.0.1:50002 .* waiting +0B +0B +h2 TLSv1.3\n"));
  context_.json = true;
  const std::string json = Output([this] { return RunConnections(context_, {}); });
  EXPECT_THAT(json, HasSubstr("\"tls_version\":\"TLSv1.3\""));
}

TEST_F(ReadCommandsTcpTest, StatsShowTheTcpProxies) {
  const std::string out = Output([this] { return RunStats(context_); });
  EXPECT_THAT(out, ContainsRegex("\nTCP_PROXY +CONNECTIONS +ACTIVE .*\nredis +7 +1 +0B +0B +0B +0 "
                                 "+2 +0 +0 +5 +2\n"));
  context_.json = true;
  context_.yaml = true;
  const std::string yaml = Output([this] { return RunStats(context_); });
  EXPECT_THAT(yaml, HasSubstr("tcp_proxies:\n"));
  EXPECT_THAT(yaml, HasSubstr("resets_injected: \"2\""));
}

}  // namespace
}  // namespace proxyctl
