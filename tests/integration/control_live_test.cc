// Every field changed over UpdateConfig applies live, without a restart: the delay on the very
// next request of an open keep-alive connection, and each limit as a client meets it.

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The node ready to be steered, with one client on the control plane.
class ControlLiveTest : public ::testing::Test {
 protected:
  void StartNode(const std::vector<std::string>& flags) {
    ASSERT_TRUE(node_.Start(flags));
    control_ = std::make_unique<ControlClient>(node_.control_port());
  }

  // UpdateConfig with `config` and the mask `paths`; fails the test unless it is applied.
  v1::UpdateConfigResponse Apply(const v1::NodeConfig& config,
                                 const std::vector<std::string>& paths) {
    v1::UpdateConfigResponse response;
    grpc::Status status = control_->Update(config, paths, &response);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return response;
  }

  NodeProcess node_;
  std::unique_ptr<ControlClient> control_;
};

// One request on `client`, and how long it took; nullopt (and a failure) without a 200.
std::optional<std::chrono::milliseconds> TimedGet(HttpClient& client) {
  const auto start = Clock::now();
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (!response) {
    ADD_FAILURE() << client.error();
    return std::nullopt;
  }
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->ConnectionClose());
  return took;
}

// A request with one `name: value` field padding the head to about `head_bytes`.
std::string GetWithHeadOf(size_t head_bytes) {
  std::string base = GetRequest("/", "X-Pad: \r\n");
  std::string pad(head_bytes > base.size() ? head_bytes - base.size() : 0, 'p');
  return GetRequest("/", "X-Pad: " + pad + "\r\n");
}

std::string PostWithBody(size_t body_bytes) {
  return "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body_bytes) +
         "\r\n\r\n" + std::string(body_bytes, 'b');
}

// A client that has been served once, so it sits idle on a keep-alive connection.
HttpClient ServedOnce(uint16_t port) {
  HttpClient client = ConnectTo(port);
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  EXPECT_TRUE(response) << client.error();
  if (response) {
    EXPECT_EQ(response->status, 200);
    EXPECT_FALSE(response->ConnectionClose());
  }
  return client;
}

// Sends `request` and expects `status`, Connection: close, then the end of the connection.
void ExpectRejectedAndClosed(HttpClient& client, const std::string& request, int status,
                             const std::string& who) {
  SCOPED_TRACE(who);
  std::optional<HttpResponse> response = client.RoundTrip(request);
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, status);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer(3s)) << client.error();
}

TEST_F(ControlLiveTest, DelayFollowsLiveOnAnOpenKeepAliveConnection) {
  StartNode({"--delay=100ms", "--workers=2"});
  HttpClient client = ConnectTo(node_.http_port());

  std::optional<std::chrono::milliseconds> took = TimedGet(client);
  ASSERT_TRUE(took);
  EXPECT_GE(took->count(), 90);

  v1::NodeConfig change;
  *change.mutable_delay() = Millis(0);
  v1::UpdateConfigResponse response = Apply(change, {"delay"});
  EXPECT_EQ(response.config().version(), 2u);
  EXPECT_EQ(ToNanos(response.config().delay()), 0);
  ASSERT_TRUE(response.has_apply_time());
  EXPECT_GE(ToNanos(response.apply_time()), 0);
  EXPECT_GE(response.apply_time().nanos(), 0);

  // No delay at all now: well under the old 100 ms even on a busy machine.
  took = TimedGet(client);
  ASSERT_TRUE(took);
  EXPECT_LT(took->count(), 80);

  *change.mutable_delay() = Millis(100);
  response = Apply(change, {"delay"});
  EXPECT_EQ(response.config().version(), 3u);
  took = TimedGet(client);
  ASSERT_TRUE(took);
  EXPECT_GE(took->count(), 90);
}

TEST_F(ControlLiveTest, LoweredMaxConnectionsRefusesTheNextNewConnection) {
  StartNode({"--delay=0s", "--workers=2", "--max_connections=100"});
  // Three connections served under the old limit stay open.
  std::vector<HttpClient> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(ServedOnce(node_.http_port()));
  }

  v1::NodeConfig change;
  change.set_max_connections(2);
  Apply(change, {"max_connections"});

  HttpClient fourth = ConnectTo(node_.http_port());
  ASSERT_TRUE(fourth.Send(GetRequest()));
  std::optional<HttpResponse> rejected = fourth.ReadResponse();
  ASSERT_TRUE(rejected) << fourth.error();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_TRUE(rejected->ConnectionClose());
  EXPECT_TRUE(rejected->HasHeader("Retry-After"));
  // A lowered limit keeps the connections already open.
  for (HttpClient& client : held) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200);
  }
}

TEST_F(ControlLiveTest, RateLimitTurnedOnAnswers429) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient client = ConnectTo(node_.http_port());
  constexpr int kRequests = 30;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) {
    burst += GetRequest();
  }
  // Off: a burst passes whole.
  ASSERT_TRUE(client.Send(burst));
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << client.error();
    ASSERT_EQ(response->status, 200) << "response " << i;
  }

  v1::NodeConfig change;
  change.set_rate_limit(5);
  Apply(change, {"rate_limit"});

  ASSERT_TRUE(client.Send(burst));
  int ok = 0;
  int limited = 0;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << client.error();
    if (response->status == 429) {
      ++limited;
    } else {
      EXPECT_EQ(response->status, 200) << "response " << i;
      ++ok;
    }
  }
  EXPECT_GE(limited, 1);
  EXPECT_LE(ok, 10);  // a bucket of one second at 5/s, plus what refills meanwhile
}

TEST_F(ControlLiveTest, LoweredMaxHeaderBytesAppliesToNewConnections) {
  StartNode({"--delay=0s", "--workers=2"});
  const std::string big_head = GetWithHeadOf(1000);
  {
    HttpClient before = ConnectTo(node_.http_port());
    std::optional<HttpResponse> response = before.RoundTrip(big_head);
    ASSERT_TRUE(response) << before.error();
    ASSERT_EQ(response->status, 200);  // 8 KiB by default
  }
  v1::NodeConfig change;
  change.set_max_header_bytes(256);
  Apply(change, {"max_header_bytes"});

  HttpClient fresh = ConnectTo(node_.http_port());
  ExpectRejectedAndClosed(fresh, big_head, 431, "new connection");
}

TEST_F(ControlLiveTest, LoweredMaxHeaderBytesAppliesToOpenKeepAliveConnections) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient open = ServedOnce(node_.http_port());
  v1::NodeConfig change;
  change.set_max_header_bytes(256);
  Apply(change, {"max_header_bytes"});
  ExpectRejectedAndClosed(open, GetWithHeadOf(1000), 431, "keep-alive connection idle across");
}

TEST_F(ControlLiveTest, LoweredMaxRequestsPerConnectionClosesAfterTheSecond) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient client = ServedOnce(node_.http_port());  // request 1
  v1::NodeConfig change;
  change.set_max_requests_per_connection(2);
  Apply(change, {"max_requests_per_connection"});

  std::optional<HttpResponse> second = client.RoundTrip(GetRequest());
  ASSERT_TRUE(second) << client.error();
  EXPECT_EQ(second->status, 200);
  EXPECT_TRUE(second->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer(3s)) << client.error();

  // A new connection gets two.
  HttpClient fresh = ConnectTo(node_.http_port());
  for (int i = 1; i <= 2; ++i) {
    std::optional<HttpResponse> response = fresh.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << fresh.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->ConnectionClose(), i == 2) << "response " << i;
  }
}

TEST_F(ControlLiveTest, ChangedBodyIsServedNext) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient client = ConnectTo(node_.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, "Hello World\n");

  v1::NodeConfig change;
  change.set_body("changed\n");
  Apply(change, {"body"});
  response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, "changed\n");
  EXPECT_EQ(response->Header("Content-Length"), "8");
}

TEST_F(ControlLiveTest, ShortenedIdleTimeoutClosesConnectionsServedAfterTheChange) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient existing = ServedOnce(node_.http_port());
  // 2 s, not less: the new timeout counts from the connection's last activity, which was
  // before the change, so the request below must reach it within 2 s (slow sanitizer
  // builds included) or the node rightly closes it first.
  v1::NodeConfig change;
  *change.mutable_idle_timeout() = Millis(2000);
  Apply(change, {"idle_timeout"});

  // Served again after the change, then left idle.
  std::optional<HttpResponse> response = existing.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << existing.error();
  HttpClient fresh = ServedOnce(node_.http_port());
  EXPECT_TRUE(existing.IsClosedByPeer(6s)) << "existing: " << existing.error();
  EXPECT_TRUE(fresh.IsClosedByPeer(6s)) << "new: " << fresh.error();
}

// The same with a delay: each request takes the connection through "waiting", and its return
// to idle arms the idle deadline under the config then in force.
TEST_F(ControlLiveTest, ShortenedIdleTimeoutClosesDelayedConnectionsServedAfterTheChange) {
  StartNode({"--delay=10ms", "--workers=2"});
  HttpClient existing = ServedOnce(node_.http_port());
  v1::NodeConfig change;
  *change.mutable_idle_timeout() = Millis(2000);  // see the test above for why not less
  Apply(change, {"idle_timeout"});
  std::optional<HttpResponse> response = existing.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << existing.error();
  EXPECT_TRUE(existing.IsClosedByPeer(6s)) << existing.error();
}

TEST_F(ControlLiveTest, ShortenedIdleTimeoutClosesConnectionsAlreadyIdle) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient idle = ServedOnce(node_.http_port());
  v1::NodeConfig change;
  *change.mutable_idle_timeout() = Millis(300);
  Apply(change, {"idle_timeout"});
  // Idle since before the change, with 60 s left under the old timeout: the new 300 ms
  // applies to it too.
  EXPECT_TRUE(idle.IsClosedByPeer(3s)) << idle.error();
}

TEST_F(ControlLiveTest, ShortenedHeaderTimeoutAnswers408ToAPartialHead) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient existing = ServedOnce(node_.http_port());
  v1::NodeConfig change;
  *change.mutable_header_timeout() = Millis(300);
  Apply(change, {"header_timeout"});

  HttpClient fresh = ConnectTo(node_.http_port());
  for (HttpClient* client : {&existing, &fresh}) {
    SCOPED_TRACE(client == &existing ? "keep-alive connection" : "new connection");
    ASSERT_TRUE(client->Send("GET / HTTP/1.1\r\nHost: test\r\n"));  // never finished
    std::optional<HttpResponse> response = client->ReadResponse(false, 3s);
    ASSERT_TRUE(response) << client->error();
    EXPECT_EQ(response->status, 408);
    EXPECT_TRUE(response->ConnectionClose());
    EXPECT_TRUE(client->IsClosedByPeer(3s)) << client->error();
  }
}

TEST_F(ControlLiveTest, MaxPendingWithDelaySetTogetherRefusesTheSecondWaitingRequest) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient first = ServedOnce(node_.http_port());
  HttpClient second = ServedOnce(node_.http_port());

  v1::NodeConfig change;
  change.set_max_pending(1);
  *change.mutable_delay() = Millis(300);
  v1::UpdateConfigResponse applied = Apply(change, {"max_pending", "delay"});
  EXPECT_EQ(applied.config().max_pending(), 1u);
  EXPECT_EQ(ToNanos(applied.config().delay()), 300'000'000);

  ASSERT_TRUE(first.Send(GetRequest()));
  ASSERT_TRUE(second.Send(GetRequest()));
  std::optional<HttpResponse> a = first.ReadResponse();
  std::optional<HttpResponse> b = second.ReadResponse();
  ASSERT_TRUE(a) << first.error();
  ASSERT_TRUE(b) << second.error();
  std::vector<int> statuses = {a->status, b->status};
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 503}));
}

TEST_F(ControlLiveTest, LoweredMaxBodyBytesAppliesToNewConnections) {
  StartNode({"--delay=0s", "--workers=2"});
  v1::NodeConfig change;
  change.set_max_body_bytes(10);
  Apply(change, {"max_body_bytes"});
  HttpClient fresh = ConnectTo(node_.http_port());
  ExpectRejectedAndClosed(fresh, PostWithBody(100), 413, "new connection");
}

TEST_F(ControlLiveTest, LoweredMaxBodyBytesAppliesToOpenKeepAliveConnections) {
  StartNode({"--delay=0s", "--workers=2"});
  HttpClient open = ConnectTo(node_.http_port());
  std::optional<HttpResponse> response = open.RoundTrip(PostWithBody(100));
  ASSERT_TRUE(response) << open.error();
  ASSERT_EQ(response->status, 200);  // 1 MiB by default

  v1::NodeConfig change;
  change.set_max_body_bytes(10);
  Apply(change, {"max_body_bytes"});
  ExpectRejectedAndClosed(open, PostWithBody(100), 413, "keep-alive connection idle across");
}

}  // namespace
}  // namespace proxynode::testing
