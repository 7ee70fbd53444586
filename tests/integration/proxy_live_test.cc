// The reverse proxy's upstream pools: keep-alive reuse (connects stay few), round robin and
// least-outstanding balancing, ejection of an upstream that refuses connects, and route
// changes applied live while requests run: in-flight requests finish on the old pool, new ones
// go to the new one, and none fails.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Reply = UpstreamReply;

constexpr int kWorkers = 2;

class ProxyLiveTest : public ProxyFixture {
 protected:
  ::testing::AssertionResult StartProxy(const std::vector<std::string>& flags) {
    return StartNode({"--workers=" + std::to_string(kWorkers), "--delay=0s"}, flags);
  }
};

v1::Route Balanced(const std::vector<std::string>& upstreams, v1::Route::Balancing balancing) {
  v1::Route route = ProxyRoute("/", upstreams);
  route.set_balancing(balancing);
  return route;
}

// Clients sending GETs back to back, each on its own keep-alive connection and thread, until
// Stop(); counts answers and keeps the first failure. A failure is anything but a 200 whose
// body one of the upstreams sends.
class Load {
 public:
  Load(uint16_t port, int clients, std::vector<std::string> bodies) : bodies_(std::move(bodies)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this, port] { Run(port); });
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  size_t ok() const { return ok_.load(); }
  size_t failed() const { return failed_.load(); }
  std::string first_failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_failure_;
  }

 private:
  void Run(uint16_t port) {
    HttpClient client;
    while (!stop_) {
      if (!client.connected() && !client.Connect(port)) {
        Fail("connect failed");
        continue;
      }
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/load"));
      if (!response) {
        Fail(client.error());
        client.Close();
      } else if (response->status != 200 ||
                 std::find(bodies_.begin(), bodies_.end(), response->body) == bodies_.end()) {
        Fail(std::to_string(response->status) + " " + response->body);
      } else {
        ++ok_;
      }
    }
  }
  void Fail(const std::string& why) {
    if (failed_++ == 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      first_failure_ = why;
    }
  }

  const std::vector<std::string> bodies_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> ok_{0};
  std::atomic<size_t> failed_{0};
  mutable std::mutex mutex_;
  std::string first_failure_;  // guarded by mutex_
};

TEST_F(ProxyLiveTest, KeepAliveKeepsUpstreamConnectsFew) {
  NodeProcess upstream;
  ASSERT_TRUE(upstream.Start({"--delay=0s", "--workers=2", "--body=pooled\n"}));
  const std::string address = "127.0.0.1:" + std::to_string(upstream.http_port());
  ASSERT_TRUE(StartProxy({"--upstream=" + address}));

  // 1,000 sequential requests over 4 client connections, taken in turn.
  constexpr int kClients = 4;
  constexpr int kRequests = 1000;
  std::vector<HttpClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(ConnectTo(proxy_.http_port()));
  for (int i = 0; i < kRequests; ++i) {
    HttpClient& client = clients[static_cast<size_t>(i % kClients)];
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/r"));
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    ASSERT_EQ(response->status, 200) << "request " << i;
    ASSERT_EQ(response->body, "pooled\n");
  }

  // A worker needs one upstream connection per request in flight; here that is one at a time.
  constexpr uint64_t kMaxConnects = kWorkers * 3;
  ControlClient upstream_control(upstream.control_port());
  v1::Stats upstream_stats;
  ASSERT_TRUE(upstream_control.GetStats(&upstream_stats).ok());
  EXPECT_EQ(upstream_stats.total().requests(), static_cast<uint64_t>(kRequests));
  EXPECT_LE(upstream_stats.total().connections_accepted(), kMaxConnects);

  v1::Stats stats = Stats();
  const v1::UpstreamStats* pool = FindUpstream(stats, address);
  ASSERT_NE(pool, nullptr) << stats.DebugString();
  EXPECT_EQ(pool->requests(), static_cast<uint64_t>(kRequests));
  EXPECT_LE(pool->connects(), kMaxConnects);
  EXPECT_GE(pool->connects(), 1u);
  EXPECT_GE(pool->reused(), static_cast<uint64_t>(kRequests) - pool->connects());
  for (const auto& [reason, count] : pool->errors()) EXPECT_EQ(count, 0u) << reason;
  EXPECT_EQ(pool->outstanding(), 0);
  EXPECT_GE(pool->idle_connections(), 1);
  EXPECT_EQ(pool->open_connections(), pool->idle_connections());
  EXPECT_EQ(pool->latency().count(), static_cast<uint64_t>(kRequests));
}

TEST_F(ProxyLiveTest, ConnectionTheUpstreamClosesIsNeverReused) {
  UpstreamServer upstream;
  upstream.SetReply("/close-after", Reply{.close_after = true});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());
  // Each answer says Connection: close: each request needs a new upstream connection.
  constexpr size_t kRequests = 10;
  for (size_t i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/close-after"));
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "request " << i;
    EXPECT_FALSE(response->ConnectionClose()) << "the upstream's close is not the client's";
  }
  EXPECT_EQ(upstream.accepted_connections(), kRequests);

  // A pooled connection the upstream closes while idle (its idle timeout) is dropped from the
  // pool, not used for the next request.
  ASSERT_TRUE(client.RoundTrip(GetRequest("/kept")));
  ASSERT_TRUE(upstream.CloseIdleConnections());
  std::this_thread::sleep_for(200ms);  // the node sees the FIN on its idle connection
  for (int i = 0; i < 3; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/after-idle-close"));
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200) << "request " << i;
  }
  EXPECT_EQ(upstream.accepted_connections(), kRequests + 2);
  v1::Stats stats = Stats();
  const v1::UpstreamStats* pool = FindUpstream(stats, upstream.address());
  ASSERT_NE(pool, nullptr) << stats.DebugString();
  EXPECT_EQ(pool->connects(), kRequests + 2);
  for (const auto& [reason, count] : pool->errors()) EXPECT_EQ(count, 0u) << reason;
}

TEST_F(ProxyLiveTest, RoundRobinSpreadsRequestsAcrossUpstreams) {
  UpstreamServer a(Reply{.text = "A\n"});
  UpstreamServer b(Reply{.text = "B\n"});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(SetRoutes({Balanced({a.address(), b.address()}, v1::Route::ROUND_ROBIN)}));
  constexpr int kRequests = 100;
  for (int i = 0; i < kRequests; ++i) {
    HttpClient client = ConnectTo(proxy_.http_port());  // new connections: either worker
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/rr"));
    ASSERT_TRUE(response) << client.error();
    ASSERT_EQ(response->status, 200);
  }
  // Round robin per worker: each worker alternates, so neither upstream gets more than its
  // half plus one per worker.
  EXPECT_GE(a.request_count(), kRequests / 2 - kWorkers);
  EXPECT_GE(b.request_count(), kRequests / 2 - kWorkers);
  EXPECT_EQ(a.request_count() + b.request_count(), static_cast<size_t>(kRequests));
  v1::Stats stats = Stats();
  const v1::UpstreamStats* stats_a = FindUpstream(stats, a.address());
  const v1::UpstreamStats* stats_b = FindUpstream(stats, b.address());
  ASSERT_TRUE(stats_a && stats_b) << stats.DebugString();
  EXPECT_EQ(stats_a->requests(), a.request_count());
  EXPECT_EQ(stats_b->requests(), b.request_count());
}

TEST_F(ProxyLiveTest, LeastOutstandingPrefersTheFastUpstream) {
  UpstreamServer slow(Reply{.text = "slow\n", .first_byte_delay = 200ms});
  UpstreamServer fast(Reply{.text = "fast\n"});
  ASSERT_TRUE(slow.Start());
  ASSERT_TRUE(fast.Start());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(
      SetRoutes({Balanced({slow.address(), fast.address()}, v1::Route::LEAST_OUTSTANDING)}));
  {
    Load load(proxy_.http_port(), 8, {"slow\n", "fast\n"});
    std::this_thread::sleep_for(2s);
    load.Stop();
    EXPECT_EQ(load.failed(), 0u) << load.first_failure();
  }
  // The slow one has a request in flight almost all the time, so it only gets the next one
  // when it has finished: about one per 200 ms and worker. Round robin would give it half.
  const size_t slow_count = slow.request_count();
  const size_t fast_count = fast.request_count();
  EXPECT_GE(fast_count, 100u);
  EXPECT_GT(fast_count, 5 * slow_count) << "slow " << slow_count << ", fast " << fast_count;
}

TEST_F(ProxyLiveTest, UpstreamRemovedLiveWhileLoadRunsLosesNoRequest) {
  // Each answer takes 20 ms, so requests are in flight to both at the moment of the change.
  UpstreamServer a(Reply{.text = "A\n", .first_byte_delay = 20ms});
  UpstreamServer b(Reply{.text = "B\n", .first_byte_delay = 20ms});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {a.address(), b.address()})}));

  Load load(proxy_.http_port(), 6, {"A\n", "B\n"});
  std::this_thread::sleep_for(1s);
  const size_t a_before = a.request_count();
  EXPECT_GT(a_before, 0u);
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {b.address()})}));
  const size_t a_at_change = a.request_count();
  const size_t b_at_change = b.request_count();
  // In-flight requests to A finish (20 ms each); then A goes away altogether, idle pooled
  // connections to it included: a request the node still sent there would fail.
  std::this_thread::sleep_for(300ms);
  a.Stop();
  std::this_thread::sleep_for(1s);
  load.Stop();

  EXPECT_EQ(load.failed(), 0u) << load.first_failure();
  EXPECT_GT(load.ok(), 100u);
  // At most one request per client could have been on its way to A when the change applied.
  EXPECT_LE(a.request_count(), a_at_change + 6);
  EXPECT_GT(b.request_count(), b_at_change + 20);
}

TEST_F(ProxyLiveTest, InFlightRequestFinishesOnTheOldPoolAfterALiveChange) {
  UpstreamServer old_upstream(Reply{.text = "old\n", .first_byte_delay = 1s});
  UpstreamServer new_upstream(Reply{.text = "new\n"});
  ASSERT_TRUE(old_upstream.Start());
  ASSERT_TRUE(new_upstream.Start());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {old_upstream.address()})}));

  HttpClient in_flight = ConnectTo(proxy_.http_port());
  ASSERT_TRUE(in_flight.Send(GetRequest("/in-flight")));
  ASSERT_TRUE(old_upstream.WaitForRequests(1, 5s));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {new_upstream.address()})}));

  HttpClient next = ConnectTo(proxy_.http_port());
  const auto start = Clock::now();
  std::optional<HttpResponse> fresh = next.RoundTrip(GetRequest("/next"));
  ASSERT_TRUE(fresh) << next.error();
  EXPECT_EQ(fresh->body, "new\n");
  EXPECT_LT(Clock::now() - start, 500ms) << "the new request waited for the old one";

  std::optional<HttpResponse> old = in_flight.ReadResponse();
  ASSERT_TRUE(old) << in_flight.error();
  EXPECT_EQ(old->status, 200);
  EXPECT_EQ(old->body, "old\n");
  EXPECT_EQ(old_upstream.request_count(), 1u);
}

TEST_F(ProxyLiveTest, UpstreamAddedLiveTakesItsShare) {
  UpstreamServer a(Reply{.text = "A\n"});
  UpstreamServer b(Reply{.text = "B\n"});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {a.address()})}));
  HttpClient client = ConnectTo(proxy_.http_port());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.RoundTrip(GetRequest("/")));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {a.address(), b.address()})}));
  for (int i = 0; i < 20; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"));
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(b.request_count(), 10u);  // one connection, one worker: strict alternation
  EXPECT_EQ(a.request_count(), 20u);
}

TEST_F(ProxyLiveTest, UpstreamRefusingConnectsIsEjected) {
  UpstreamServer alive(Reply{.text = "alive\n"});
  ASSERT_TRUE(alive.Start());
  const std::string dead = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  ASSERT_TRUE(StartProxy({}));
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {dead, alive.address()})}));

  constexpr int kRequests = 40;
  int bad_gateway = 0;
  for (int i = 0; i < kRequests; ++i) {
    HttpClient client = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"));
    ASSERT_TRUE(response) << client.error();
    if (response->status == 502) {
      ++bad_gateway;
    } else {
      EXPECT_EQ(response->status, 200);
    }
    // Once each worker has met the dead one, it is skipped for its back-off.
    if (i >= kRequests / 2) {
      EXPECT_EQ(response->status, 200) << "request " << i;
    }
  }
  EXPECT_LE(bad_gateway, kWorkers);
  EXPECT_GE(alive.request_count(), static_cast<size_t>(kRequests - kWorkers));

  v1::Stats stats = Stats();
  const v1::UpstreamStats* ejected = FindUpstream(stats, dead);
  ASSERT_NE(ejected, nullptr) << stats.DebugString();
  EXPECT_GE(ejected->ejections(), 1u);
  auto failed = ejected->errors().find("connect_failed");
  ASSERT_NE(failed, ejected->errors().end()) << ejected->DebugString();
  EXPECT_GE(failed->second, 1u);
}

}  // namespace
}  // namespace proxynode::testing
