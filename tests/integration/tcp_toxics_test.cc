// Toxics (issue 19), each judged by what a client of the proxy sees: the latency a round
// trip gains, the rate bytes arrive at, slices, limits, timeouts, resets and delayed closes;
// toxicity drawn per connection; and changes reaching open connections at once.

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/fault_fixture.h"
#include "tests/integration/tcp_proxy_fixture.h"
#include "tests/testing/body_pattern.h"

namespace proxynode::testing {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kSlack = abuse::kSlack;

class TcpToxicsTest : public TcpProxyFixture {
 protected:
  void SetUp() override { ASSERT_TRUE(StartTcpNode()); }

  static milliseconds Since(TcpClock::time_point start) {
    return duration_cast<milliseconds>(TcpClock::now() - start);
  }
};

TEST_F(TcpToxicsTest, LatencyIsAddedToEveryRoundTripInItsDirection) {
  const uint16_t port = SetEchoProxy({LatencyToxic("down", 100)});
  TcpClient client(port);
  std::string echoed;
  for (int i = 0; i < 5; ++i) {
    const auto rtt = duration_cast<milliseconds>(client.RoundTrip("ping\n", &echoed));
    EXPECT_GE(rtt.count(), 100);
    EXPECT_LT(rtt, milliseconds(100) + kSlack);
  }
  // Both directions: the two latencies add up.
  SetEchoProxy({LatencyToxic("down", 100), LatencyToxic("up", 50, v1::Toxic::UPSTREAM)},
               "127.0.0.1:" + std::to_string(port));
  const auto rtt = duration_cast<milliseconds>(client.RoundTrip("ping\n", &echoed));
  EXPECT_GE(rtt.count(), 150);
  EXPECT_LT(rtt, milliseconds(150) + kSlack);
}

TEST_F(TcpToxicsTest, JitterStaysWithinItsBounds) {
  v1::Toxic toxic = LatencyToxic("jittery", 60);
  *toxic.mutable_latency()->mutable_jitter() = Millis(40);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  std::string echoed;
  milliseconds lowest = seconds(10), highest{0};
  for (int i = 0; i < 20; ++i) {
    const auto rtt = duration_cast<milliseconds>(client.RoundTrip("j", &echoed));
    lowest = std::min(lowest, rtt);
    highest = std::max(highest, rtt);
  }
  EXPECT_GE(lowest.count(), 20);
  EXPECT_LT(highest, milliseconds(100) + kSlack);
  EXPECT_GT(highest - lowest, milliseconds(5)) << "20 draws of +-40 ms all alike";
}

TEST_F(TcpToxicsTest, ToxicityZeroNeverFiresAndIsDrawnPerConnection) {
  v1::Toxic never = LatencyToxic("never", 500);
  never.set_toxicity(0);
  v1::Toxic half = LatencyToxic("half", 1);
  half.set_toxicity(0.5);
  const uint16_t port = SetEchoProxy({never, half});
  constexpr int kConnections = 200;
  std::string echoed;
  for (int i = 0; i < kConnections; ++i) {
    TcpClient client(port);
    EXPECT_LT(duration_cast<milliseconds>(client.RoundTrip("t", &echoed)), milliseconds(400));
  }
  const v1::TcpProxyStats stats = ProxyStats("echo");
  ASSERT_EQ(stats.toxics_size(), 2);
  const v1::ToxicStats& half_stats = stats.toxics(0);  // sorted by name
  const v1::ToxicStats& never_stats = stats.toxics(1);
  EXPECT_EQ(never_stats.name(), "never");
  EXPECT_EQ(never_stats.applied(), 0u);
  EXPECT_EQ(never_stats.skipped(), uint64_t{kConnections});
  EXPECT_EQ(half_stats.applied() + half_stats.skipped(), uint64_t{kConnections});
  const BinomialBounds bounds = Binomial(kConnections, 0.5);
  EXPECT_GE(static_cast<double>(half_stats.applied()), bounds.low);
  EXPECT_LE(static_cast<double>(half_stats.applied()), bounds.high);
}

TEST_F(TcpToxicsTest, BandwidthHoldsTheRateWithinFivePercent) {
  v1::Toxic toxic;
  toxic.set_name("narrow");
  toxic.mutable_bandwidth()->set_rate(500);  // KB/s
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  const std::string data(1'000'000, 'b');
  ASSERT_TRUE(client.Send(data));
  std::string back;
  ASSERT_EQ(client.Receive(1, seconds(5), &back), TcpClient::End::kData);
  const auto first = TcpClock::now();
  ASSERT_EQ(client.Receive(data.size() - 1, seconds(30), &back), TcpClient::End::kData);
  const double seconds_taken = std::chrono::duration<double>(TcpClock::now() - first).count();
  const double rate = static_cast<double>(data.size() - 1) / seconds_taken;
  EXPECT_NEAR(rate, 500'000, 25'000) << seconds_taken << " s";
}

// A shared rate is the proxy's, node-wide: one connection gets all of it (whichever worker
// serves it), and eight at once get it together, not eight times over.
TEST_F(TcpToxicsTest, SharedBandwidthIsTheProxysRateAcrossWorkers) {
  v1::Toxic toxic;
  toxic.set_name("pipe");
  toxic.mutable_bandwidth()->set_rate(200);  // KB/s
  toxic.mutable_bandwidth()->set_shared(true);
  const uint16_t port = SetEchoProxy({toxic});
  // Bytes per second through `connections` at once, `total` bytes echoed in all.
  const auto rate_through = [](std::vector<std::unique_ptr<TcpClient>>& connections, size_t total) {
    const size_t each = total / connections.size();
    const auto start = TcpClock::now();
    std::vector<std::thread> threads;
    for (auto& client : connections) {
      threads.emplace_back([&client, each] {
        std::string back;
        EXPECT_TRUE(client->Send(std::string(each, 'w')));
        EXPECT_EQ(client->Receive(each, seconds(30), &back), TcpClient::End::kData);
      });
    }
    for (std::thread& thread : threads) thread.join();
    const double taken = std::chrono::duration<double>(TcpClock::now() - start).count();
    return static_cast<double>(each * connections.size()) / taken;
  };
  std::vector<std::unique_ptr<TcpClient>> one;
  one.push_back(std::make_unique<TcpClient>(port));
  EXPECT_NEAR(rate_through(one, 200'000), 200'000, 20'000) << "one connection, whole rate";
  one.clear();

  // Connections until both workers relay some.
  std::vector<std::unique_ptr<TcpClient>> many;
  bool both_workers = false;
  while (!both_workers && many.size() < 64) {
    many.push_back(std::make_unique<TcpClient>(port));
    std::string echoed;
    many.back()->RoundTrip("x", &echoed);
    v1::ListConnectionsResponse list;
    ASSERT_TRUE(control_->ListConnections(0, &list).ok());
    bool seen[2] = {false, false};
    for (const v1::Connection& row : list.connections()) seen[row.worker() % 2] = true;
    both_workers = seen[0] && seen[1];
  }
  ASSERT_TRUE(both_workers) << "64 connections, all on one worker";
  EXPECT_NEAR(rate_through(many, 200'000), 200'000, 20'000)
      << many.size() << " connections on two workers, one rate";
}

TEST_F(TcpToxicsTest, SlicerSendsSlicesApart) {
  v1::Toxic toxic;
  toxic.set_name("slices");
  toxic.mutable_slicer()->set_average_size(100);
  *toxic.mutable_slicer()->mutable_delay() = Millis(10);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  std::string echoed;
  const std::string data(1000, 's');
  const auto rtt = duration_cast<milliseconds>(client.RoundTrip(data, &echoed));
  EXPECT_EQ(echoed, data);
  EXPECT_GE(rtt.count(), 90);  // 10 slices, 10 ms apart
  EXPECT_LT(rtt, milliseconds(90) + kSlack);
}

TEST_F(TcpToxicsTest, LimitDataClosesAfterExactlyTheLimit) {
  v1::Toxic toxic;
  toxic.set_name("cap");
  toxic.mutable_limit_data()->set_bytes(100);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  ASSERT_TRUE(client.Send(std::string(300, 'l')));
  std::string got;
  EXPECT_EQ(client.WaitForEnd(seconds(5), &got), TcpClient::End::kEof);
  EXPECT_EQ(got.size(), 100u);
}

TEST_F(TcpToxicsTest, TimeoutDropsDataThenCloses) {
  v1::Toxic toxic;
  toxic.set_name("stall");
  *toxic.mutable_timeout()->mutable_timeout() = Millis(300);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  const auto start = TcpClock::now();
  ASSERT_TRUE(client.Send("lost"));
  std::string got;
  EXPECT_EQ(client.WaitForEnd(seconds(10), &got), TcpClient::End::kEof);
  EXPECT_EQ(got, "");
  EXPECT_GE(Since(start).count(), 290);
  EXPECT_LT(Since(start), milliseconds(300) + kSlack);
  EXPECT_TRUE(WaitUntil([&] { return ProxyStats("echo").timeouts_injected() == 1; }, seconds(5)));
}

TEST_F(TcpToxicsTest, TimeoutZeroHoldsTheConnectionUntilTheToxicGoes) {
  v1::Toxic toxic;
  toxic.set_name("stall");
  toxic.mutable_timeout();
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  ASSERT_TRUE(client.Send("dropped"));
  std::string got;
  EXPECT_EQ(client.Receive(1, milliseconds(300), &got), TcpClient::End::kTimeout);
  SetEchoProxy({}, "127.0.0.1:" + std::to_string(port));
  client.RoundTrip("after", &got);
  EXPECT_EQ(got, "after");
}

TEST_F(TcpToxicsTest, ResetPeerResetsTheClientAfterItsTimeout) {
  v1::Toxic toxic;
  toxic.set_name("rst");
  toxic.set_stream(v1::Toxic::UPSTREAM);
  *toxic.mutable_reset_peer()->mutable_timeout() = Millis(200);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  const auto start = TcpClock::now();
  ASSERT_TRUE(client.Send("trigger"));
  EXPECT_EQ(client.WaitForEnd(seconds(10)), TcpClient::End::kReset);
  EXPECT_GE(Since(start).count(), 190);
  EXPECT_TRUE(WaitUntil([&] { return ProxyStats("echo").resets_injected() == 1; }, seconds(5)));
}

TEST_F(TcpToxicsTest, SlowCloseDelaysTheClose) {
  v1::Toxic toxic;
  toxic.set_name("lingering");
  *toxic.mutable_slow_close()->mutable_delay() = Millis(400);
  const uint16_t port = SetEchoProxy({toxic});
  TcpClient client(port);
  std::string got;
  client.RoundTrip("bye", &got);
  const auto start = TcpClock::now();
  client.ShutdownWrite();
  EXPECT_EQ(client.WaitForEnd(seconds(10)), TcpClient::End::kEof);
  EXPECT_GE(Since(start).count(), 390);
  EXPECT_LT(Since(start), milliseconds(400) + kSlack);
}

TEST_F(TcpToxicsTest, DownRefusesNewConnectionsAndClosesOpenOnes) {
  const uint16_t port = SetEchoProxy({});
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  TcpClient open(port);
  std::string got;
  open.RoundTrip("up", &got);
  v1::Toxic down;
  down.set_name("outage");
  down.mutable_down();
  SetEchoProxy({down}, listen);
  EXPECT_EQ(open.WaitForEnd(seconds(5)), TcpClient::End::kEof);
  TcpClient refused(port);
  EXPECT_EQ(refused.WaitForEnd(seconds(5)), TcpClient::End::kEof);
  EXPECT_TRUE(WaitUntil([&] { return ProxyStats("echo").refused() == 2; }, seconds(5)));
  SetEchoProxy({}, listen);
  TcpClient back(port);
  back.RoundTrip("again", &got);
  EXPECT_EQ(got, "upagain");
}

TEST_F(TcpToxicsTest, RemovingALatencyToxicReleasesHeldBytesAtOnce) {
  const uint16_t port = SetEchoProxy({LatencyToxic("long", 5000)});
  TcpClient client(port);
  ASSERT_TRUE(client.Send("held"));
  std::string got;
  EXPECT_EQ(client.Receive(4, milliseconds(200), &got), TcpClient::End::kTimeout);
  const auto start = TcpClock::now();
  SetEchoProxy({}, "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(client.Receive(4 - got.size(), seconds(4), &got), TcpClient::End::kData);
  EXPECT_LT(Since(start), milliseconds(1000));
  EXPECT_EQ(got, "held");
}

// A toxic added while a transfer is backed up (the client not reading: bytes wait in the
// proxy's pipe and in the upstream's socket, and the echo cannot write): once the client
// reads, every byte arrives, in order. The bytes still in the upstream's socket bring no new
// edge; the relay must go on to hold them itself.
TEST_F(TcpToxicsTest, AToxicAddedDuringABackedUpTransferStallsNothing) {
  const uint16_t port = SetEchoProxy({});
  TcpClient client(port);
  std::string bulk(32 << 20, '\0');
  FillPattern(0, bulk.data(), bulk.size());
  std::thread sender([&] { EXPECT_TRUE(client.Send(bulk)); });
  std::this_thread::sleep_for(milliseconds(300));  // the client reads nothing yet
  SetEchoProxy({LatencyToxic("late", 1)}, "127.0.0.1:" + std::to_string(port));
  std::string back;
  EXPECT_EQ(client.Receive(bulk.size(), seconds(30), &back), TcpClient::End::kData)
      << back.size() << " of " << bulk.size() << " bytes came back";
  sender.join();
  EXPECT_TRUE(back == bulk) << "the relayed bytes differ from those sent";
}

TEST_F(TcpToxicsTest, AToxicAddedReachesOpenConnections) {
  const uint16_t port = SetEchoProxy({});
  std::vector<std::unique_ptr<TcpClient>> clients;
  std::string got;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<TcpClient>(port));
    clients.back()->RoundTrip("a", &got);
  }
  SetEchoProxy({LatencyToxic("late", 150)}, "127.0.0.1:" + std::to_string(port));
  for (auto& client : clients) {
    EXPECT_GE(duration_cast<milliseconds>(client->RoundTrip("b", &got)).count(), 150);
  }
}

}  // namespace
}  // namespace proxynode::testing
