// A proxied exchange in-process, against an upstream played by the test over loopback: the
// response is pushed into the output the client lends, stops at the high watermark until
// the client reports it drained, and failures end as the outcome the client answers with.
// A real EventLoop runs in its own thread; no node process.

#include "dataplane/proxy/proxy_exchange.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/stats/proxy_stats.h"
#include "gtest/gtest.h"
#include "tests/dataplane/loop_thread.h"
#include "tests/dataplane/loopback.h"

namespace proxynode {
namespace {

using Clock = std::chrono::steady_clock;

// The upstream: a listening socket the test accepts on and answers by hand.
class FakeUpstream {
 public:
  FakeUpstream() {
    sockaddr_in address;
    listener_ = ListenOnLoopback(&address);
    port_ = ntohs(address.sin_port);
  }
  ~FakeUpstream() {
    if (connection_ >= 0) close(connection_);
    close(listener_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Accepts the exchange's connection and reads its request head.
  std::string AcceptRequest() {
    pollfd ready{.fd = listener_, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 5000) != 1) return "";
    connection_ = accept(listener_, nullptr, nullptr);
    std::string head;
    char chunk[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = recv(connection_, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      head.append(chunk, static_cast<size_t>(n));
    }
    return head;
  }
  void Send(const std::string& bytes) const {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(connection_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the exchange stopped reading for good
      sent += static_cast<size_t>(n);
    }
  }
  void Close() {
    close(connection_);
    connection_ = -1;
  }
  // Whether the exchange's side ends (EOF, nothing more) within `timeout_ms`.
  bool ClosedByPeer(int timeout_ms) const {
    pollfd ready{.fd = connection_, .events = POLLIN, .revents = 0};
    char byte;
    return poll(&ready, 1, timeout_ms) == 1 && recv(connection_, &byte, 1, 0) == 0;
  }

 private:
  int listener_ = -1;
  int connection_ = -1;
  uint16_t port_ = 0;
};

// The client side: lends its output once asked, and drains it on demand.
class FakeClient : public ProxyExchange::Client {
 public:
  void OnProxyProgress() override { ++progress_calls; }
  int progress_calls = 0;
};

class ProxyExchangeTest : public ::testing::Test {
 protected:
  ProxyExchangeTest() {
    route_.prefix = "/";
    route_.action = RouteAction::kProxy;
    route_.upstreams.push_back(Upstream{.address = upstream_.address(), .resolved = {}});
    config_->routes.push_back(route_);
    runner_.InLoop([&] {
      parts_ = std::make_unique<Parts>(runner_.loop(), registry_, config_);
      parts_->upstreams.Sync(*config_);
      exchange_ = std::make_unique<ProxyExchange>(parts_->context);
    });
  }
  ~ProxyExchangeTest() override {
    runner_.InLoop([&] {
      exchange_->Abandon();
      exchange_->Recycle();
      parts_->out.Consume(parts_->out.size());
      parts_->out.ReleaseIfEmpty(parts_->buffers);
      exchange_.reset();
    });
    runner_.InLoop([&] { parts_.reset(); });
  }

  // Starts proxying a GET and lends the output at once (the response is at the front).
  void StartGet() {
    runner_.InLoop([&] {
      RequestHead head;
      head.method = HttpMethod::kGet;
      head.target = "/x";
      const RouteConfig& route = parts_->snapshots.current().routes.front();
      exchange_->Start(client_, parts_->snapshots.Pin(), route, parts_->upstreams.ForRoute("/"),
                       head, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", "10.0.0.7", 0);
      exchange_->StreamInto(parts_->out, ClientSide{});
    });
  }
  ProxyExchange::Outcome Outcome() {
    ProxyExchange::Outcome outcome;
    runner_.InLoop([&] { outcome = exchange_->outcome(); });
    return outcome;
  }
  // Waits (up to 5 s) for the exchange to end.
  ProxyExchange::Outcome WaitForEnd() {
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (Outcome() == ProxyExchange::Outcome::kPending && Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Outcome();
  }
  // Takes what the exchange pushed into the output (the client writing it) and reports the
  // output drained.
  std::string Drain() {
    std::string taken;
    runner_.InLoop([&] {
      taken = std::string(parts_->out.readable());
      parts_->out.Consume(parts_->out.size());
      exchange_->OnOutputDrained();
    });
    return taken;
  }
  size_t OutputSize() {
    size_t size = 0;
    runner_.InLoop([&] { size = parts_->out.size(); });
    return size;
  }

  struct Parts {
    Parts(EventLoop& loop, ProxyStatsRegistry& registry, ConfigSnapshotPtr config)
        : buffers(loop, 4),
          snapshots(std::move(config)),
          upstreams(loop, buffers, registry, 0),
          context{loop, buffers, date, upstreams} {}
    BufferPool buffers;
    SnapshotCache snapshots;
    DateHeaderCache date;
    UpstreamPools upstreams;
    ProxyContext context;
    Buffer out;
  };

  FakeUpstream upstream_;
  RouteConfig route_;
  std::shared_ptr<NodeConfig> config_ = std::make_shared<NodeConfig>();
  ProxyStatsRegistry registry_;
  FakeClient client_;
  LoopThread runner_;
  std::unique_ptr<Parts> parts_;
  std::unique_ptr<ProxyExchange> exchange_;
};

TEST_F(ProxyExchangeTest, TheResponseIsPushedIntoTheLentOutputReframed) {
  StartGet();
  std::string request = upstream_.AcceptRequest();
  EXPECT_TRUE(request.starts_with("GET /x HTTP/1.1\r\n")) << request;
  EXPECT_NE(request.find("X-Forwarded-For: 10.0.0.7\r\n"), std::string::npos) << request;
  upstream_.Send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  ASSERT_EQ(WaitForEnd(), ProxyExchange::Outcome::kDone);
  std::string response = Drain();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_TRUE(response.ends_with("5\r\nhello\r\n0\r\n\r\n")) << response;
  runner_.InLoop([&] {
    EXPECT_EQ(exchange_->response_status(), 200);
    EXPECT_GT(client_.progress_calls, 0) << "the client heard of the response";
  });
}

TEST_F(ProxyExchangeTest, TheUpstreamWaitsAtTheHighWatermarkUntilTheClientDrains) {
  StartGet();
  ASSERT_FALSE(upstream_.AcceptRequest().empty());
  constexpr size_t kBody = 4 * 1024 * 1024;
  std::thread sender([&] {
    upstream_.Send(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: ", kBody, "\r\n\r\n"));
    upstream_.Send(std::string(kBody, 'z'));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Nothing drains: the output holds about the high watermark, the rest waits upstream.
  const size_t held = OutputSize();
  EXPECT_GE(held, ProxyExchange::kHighWatermark);
  EXPECT_LE(held, 3 * ProxyExchange::kHighWatermark);
  EXPECT_EQ(Outcome(), ProxyExchange::Outcome::kPending);
  size_t body = 0;
  std::string response = Drain();
  const size_t head_end = response.find("\r\n\r\n") + 4;
  body += response.size() - head_end;
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (Outcome() == ProxyExchange::Outcome::kPending && Clock::now() < give_up) {
    body += Drain().size();
  }
  body += Drain().size();
  sender.join();
  EXPECT_EQ(Outcome(), ProxyExchange::Outcome::kDone);
  EXPECT_EQ(body, kBody);
}

TEST_F(ProxyExchangeTest, AnUpstreamThatClosesBeforeAnsweringIsA502) {
  StartGet();
  ASSERT_FALSE(upstream_.AcceptRequest().empty());
  upstream_.Close();
  ASSERT_EQ(WaitForEnd(), ProxyExchange::Outcome::kFailed);
  runner_.InLoop([&] {
    EXPECT_EQ(exchange_->error_status(), 502);
    EXPECT_FALSE(exchange_->head_forwarded());
    EXPECT_EQ(parts_->out.size(), 0u) << "nothing may reach the client";
  });
}

TEST_F(ProxyExchangeTest, AResponseCutAfterItsHeadIsAborted) {
  StartGet();
  ASSERT_FALSE(upstream_.AcceptRequest().empty());
  upstream_.Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  upstream_.Close();
  ASSERT_EQ(WaitForEnd(), ProxyExchange::Outcome::kAborted);
  runner_.InLoop([&] { EXPECT_TRUE(exchange_->head_forwarded()); });
}

// The client went away before the response began: the upstream connection is closed, not
// pooled, and the request counts as cancelled, not failed.
TEST_F(ProxyExchangeTest, ACancelBeforeTheResponseClosesTheUpstreamAndCountsOnlyACancel) {
  StartGet();
  ASSERT_FALSE(upstream_.AcceptRequest().empty());
  bool cancelled = false;
  runner_.InLoop([&] { cancelled = exchange_->Cancel(); });
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(Outcome(), ProxyExchange::Outcome::kAborted);
  EXPECT_TRUE(upstream_.ClosedByPeer(1000));
  const ProxyStatsSnapshot stats = registry_.Collect();
  ASSERT_EQ(stats.upstreams.size(), 1u);
  EXPECT_EQ(stats.upstreams[0].cancelled, 1u);
  EXPECT_EQ(stats.upstreams[0].errors_total(), 0u);
  EXPECT_EQ(stats.upstreams[0].outstanding, 0);
  EXPECT_EQ(stats.upstreams[0].idle_connections, 0);
}

TEST_F(ProxyExchangeTest, NoCancelOnceTheResponseBegan) {
  StartGet();
  ASSERT_FALSE(upstream_.AcceptRequest().empty());
  upstream_.Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some");
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (OutputSize() == 0 && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool cancelled = true;
  runner_.InLoop([&] { cancelled = exchange_->Cancel(); });
  EXPECT_FALSE(cancelled);
  EXPECT_EQ(Outcome(), ProxyExchange::Outcome::kPending);
  EXPECT_EQ(registry_.Collect().upstreams[0].cancelled, 0u);
}

}  // namespace
}  // namespace proxynode
