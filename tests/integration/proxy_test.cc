// The reverse proxy end to end, message by message: what reaches the upstream and what comes
// back (bodies, statuses, hop-by-hop fields, Via, X-Forwarded-For, HEAD, pipelining), routes
// by prefix beside the node's own answer, the delay share, and the 502 and 504 answers.
// Upstreams are real servers started by the test: a second node in respond mode, or the
// scriptable UpstreamServer. Large bodies and chunked framing: proxy_stream_test.cc; pools,
// balancing and live changes: proxy_live_test.cc.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/config_map_dir.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/stream_client.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Reply = UpstreamReply;

constexpr char kNodeBody[] = "answered by the node\n";

class ProxyTest : public ProxyFixture {
 protected:
  // The node under test: 2 workers (the machine's cores), its own body, plus `flags`.
  ::testing::AssertionResult StartProxy(const std::vector<std::string>& flags) {
    return StartNode({"--workers=2", std::string("--body=") + kNodeBody}, flags);
  }

  // Errors counted for upstream `address` under `reason` (0 when it has none).
  uint64_t UpstreamErrors(const std::string& address, const std::string& reason) {
    v1::Stats stats = Stats();
    const v1::UpstreamStats* upstream = FindUpstream(stats, address);
    if (upstream == nullptr) {
      ADD_FAILURE() << "no stats for upstream " << address << ": " << stats.DebugString();
      return 0;
    }
    auto it = upstream->errors().find(reason);
    return it == upstream->errors().end() ? 0 : it->second;
  }
};

std::string Post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

// GET `target` on `client`; the response, or nullopt and a test failure.
std::optional<HttpResponse> Get(HttpClient& client, const std::string& target) {
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest(target));
  if (!response) ADD_FAILURE() << "GET " << target << ": " << client.error();
  return response;
}

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST_F(ProxyTest, UpstreamFlagProxiesEveryPathWithoutTheDefaultDelay) {
  NodeProcess upstream;
  ASSERT_TRUE(upstream.Start({"--delay=0s", "--workers=1", "--body=from the upstream node\n"}));
  // No --delay: with --upstream it defaults to 0 (the node's own default is 100 ms).
  ASSERT_TRUE(StartProxy({"--upstream=127.0.0.1:" + std::to_string(upstream.http_port())}));
  HttpClient client = ConnectTo(proxy_.http_port());
  auto fastest = std::chrono::milliseconds::max();
  for (std::string target : {"/", "/any/path", "/x?y=z", "/deep/er/path/"}) {
    const auto start = Clock::now();
    std::optional<HttpResponse> response = Get(client, target);
    ASSERT_TRUE(response);
    fastest = std::min(fastest, Since(start));
    EXPECT_EQ(response->status, 200) << target;
    EXPECT_EQ(response->body, "from the upstream node\n") << target;
  }
  EXPECT_LT(fastest.count(), 80);

  ControlClient upstream_control(upstream.control_port());
  v1::Stats upstream_stats;
  ASSERT_TRUE(upstream_control.GetStats(&upstream_stats).ok());
  EXPECT_EQ(upstream_stats.total().requests(), 4u);
  v1::Stats stats = Stats();
  const v1::UpstreamStats* forwarded =
      FindUpstream(stats, "127.0.0.1:" + std::to_string(upstream.http_port()));
  ASSERT_NE(forwarded, nullptr) << stats.DebugString();
  EXPECT_EQ(forwarded->requests(), 4u);
}

TEST_F(ProxyTest, BodiesStatusesAndHeadersPassEndToEnd) {
  UpstreamServer upstream(
      Reply{.body = Reply::Body::kEcho, .headers = {{"X-From-Upstream", "yes"}}});
  upstream.SetReply("/missing", Reply{.status = 404, .text = "no such thing\n"});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());

  const std::string body = "a request body, sent through the proxy";
  std::optional<HttpResponse> response =
      client.RoundTrip(Post("/echo/x?y=z", body, "X-Custom: 1\r\nContent-Type: text/plain\r\n"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, body);
  EXPECT_EQ(response->Header("X-From-Upstream"), "yes");
  EXPECT_EQ(response->Header("X-Echo-Method"), "POST");
  EXPECT_EQ(response->Header("X-Echo-Target"), "/echo/x?y=z");
  EXPECT_EQ(response->Header("X-Echo-X-Custom"), "1");
  EXPECT_EQ(response->Header("X-Echo-Content-Type"), "text/plain");
  EXPECT_FALSE(response->ConnectionClose());

  std::optional<HttpResponse> missing = Get(client, "/missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "no such thing\n");

  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/echo/x?y=z");
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[0].Header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(requests[0].Header("X-Custom"), "1");
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].target, "/missing");
}

TEST_F(ProxyTest, HopByHopFieldsStayOnTheirHopAndViaAndForwardedForAreAdded) {
  UpstreamServer upstream(Reply{.headers = {{"Connection", "X-Upstream-Hop"},
                                            {"X-Upstream-Hop", "1"},
                                            {"Keep-Alive", "timeout=5"},
                                            {"X-End-To-End", "kept"}}});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());

  std::optional<HttpResponse> response = client.RoundTrip(
      GetRequest("/first",
                 "Connection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\n"
                 "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-Forwarded-For: 10.1.2.3\r\n"
                 "X-Kept: yes\r\n"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("X-End-To-End"), "kept");
  EXPECT_FALSE(response->HasHeader("X-Upstream-Hop"));
  EXPECT_FALSE(response->HasHeader("Keep-Alive"));
  EXPECT_EQ(response->Header("Connection").value_or("").find("X-Upstream-Hop"), std::string::npos);

  std::optional<HttpResponse> second = Get(client, "/second");
  ASSERT_TRUE(second);

  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 2u);
  const RecordedRequest& first = requests[0];
  EXPECT_EQ(first.Header("X-Kept"), "yes");
  EXPECT_FALSE(first.Header("X-Client-Hop")) << "named in Connection: hop-by-hop";
  EXPECT_FALSE(first.Header("Keep-Alive"));
  EXPECT_FALSE(first.Header("TE"));
  EXPECT_EQ(first.Header("Connection").value_or("").find("X-Client-Hop"), std::string::npos);
  std::optional<std::string> via = first.Header("Via");
  ASSERT_TRUE(via);
  EXPECT_TRUE(via->starts_with("1.1 ")) << *via;
  // The client's address is appended to what the client said (one field, not two).
  EXPECT_EQ(first.HeaderCount("X-Forwarded-For"), 1u);
  EXPECT_EQ(first.Header("X-Forwarded-For"), "10.1.2.3, 127.0.0.1");
  EXPECT_EQ(requests[1].Header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_TRUE(requests[1].Header("Via"));
}

TEST_F(ProxyTest, HeadGetsTheLengthAndNoBodyAndTheConnectionGoesOn) {
  UpstreamServer upstream(Reply{.text = "twelve bytes"});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());

  std::optional<HttpResponse> head = client.RoundTrip(HeadRequest("/h"), /*head_request=*/true);
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length"), "12");
  // A body byte after the HEAD response would be read as the start of the next response.
  std::optional<HttpResponse> get = Get(client, "/g");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "twelve bytes");
  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "HEAD");
  EXPECT_EQ(requests[1].method, "GET");
}

// A worker reuses its exchanges (ProxyExchangePool): with one worker, every request below
// runs on an exchange that served a different kind of request just before (an HTTP/1.0
// close-delimited answer, chunked, a reset upstream, HEAD), and must answer as if new.
TEST_F(ProxyTest, ReusedExchangesCarryNothingFromTheRequestBefore) {
  UpstreamServer upstream(Reply{.text = "plain\n"});
  upstream.SetReply("/until-close",
                    Reply{.text = "until close\n", .framing = Reply::Framing::kCloseDelimited});
  upstream.SetReply("/chunked", Reply{.text = "chunked\n", .framing = Reply::Framing::kChunked});
  upstream.SetReply("/reset", Reply{.fault = Reply::Fault::kReset});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartNode({"--workers=1"}, {"--upstream=" + upstream.address()}));

  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      HttpClient old_client = ConnectTo(proxy_.http_port());
      std::optional<HttpResponse> response =
          old_client.RoundTrip("GET /until-close HTTP/1.0\r\nHost: t\r\n\r\n");
      ASSERT_TRUE(response) << old_client.error();
      EXPECT_EQ(response->status, 200);
      EXPECT_EQ(response->body, "until close\n");
    }
    StreamClient streaming;
    ASSERT_TRUE(streaming.Connect(proxy_.http_port()));
    ASSERT_TRUE(streaming.Send(GetRequest("/chunked") + GetRequest("/plain"), 5s));
    std::optional<StreamedResponse> chunked = streaming.ReadResponse(5s);
    ASSERT_TRUE(chunked) << streaming.error();
    EXPECT_EQ(chunked->status, 200);
    EXPECT_TRUE(chunked->chunked) << chunked->head;
    EXPECT_FALSE(chunked->HasField("Connection: close")) << "the HTTP/1.0 exchange's close stayed";
    std::optional<StreamedResponse> after_chunked = streaming.ReadResponse(5s);
    ASSERT_TRUE(after_chunked) << streaming.error();
    EXPECT_FALSE(after_chunked->chunked) << "chunked like the one before: " << after_chunked->head;
    EXPECT_TRUE(after_chunked->has_length) << after_chunked->head;

    HttpClient client = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> failed = Get(client, "/reset");
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status, 502);
    std::optional<HttpResponse> head =
        client.RoundTrip(HeadRequest("/plain"), /*head_request=*/true);
    ASSERT_TRUE(head) << client.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->Header("Content-Length"), "6");
    std::optional<HttpResponse> plain = Get(client, "/plain");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
    EXPECT_EQ(plain->Header("Content-Length"), "6");
    EXPECT_EQ(plain->body, "plain\n");
  }
  // Six requests a round; /reset goes twice when it first met a pooled connection (a reset
  // there looks like a stale keep-alive connection and is retried on a fresh one).
  EXPECT_GE(upstream.request_count(), 18u);
}

TEST_F(ProxyTest, PipelinedRequestsAreAnsweredInOrder) {
  UpstreamServer upstream(Reply{.body = Reply::Body::kEcho});
  // The first answer is the slowest: answering out of order would put it last.
  upstream.SetReply("/p/0", Reply{.body = Reply::Body::kEcho, .first_byte_delay = 200ms});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());

  constexpr int kRequests = 10;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) {
    const std::string target = "/p/" + std::to_string(i);
    burst += i % 3 == 1 ? Post(target, "body " + std::to_string(i)) : GetRequest(target);
  }
  ASSERT_TRUE(client.Send(burst));
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->Header("X-Echo-Target"), "/p/" + std::to_string(i));
    EXPECT_EQ(response->body, i % 3 == 1 ? "body " + std::to_string(i) : "") << i;
  }
  EXPECT_EQ(upstream.request_count(), static_cast<size_t>(kRequests));
}

TEST_F(ProxyTest, RespondAndProxyRoutesSideBySideLongestPrefixWins) {
  UpstreamServer a(Reply{.text = "A\n"});
  UpstreamServer b(Reply{.text = "B\n"});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  ASSERT_TRUE(StartProxy({"--delay=0s"}));
  ASSERT_TRUE(SetRoutes({RespondRoute("/"), ProxyRoute("/api/", {a.address()}),
                         ProxyRoute("/api/b/", {b.address()}), RespondRoute("/api/b/local/")}));

  HttpClient client = ConnectTo(proxy_.http_port());
  struct Case {
    std::string target;
    std::string body;
  };
  const std::vector<Case> cases = {{"/", kNodeBody},
                                   {"/api", kNodeBody},
                                   {"/apix/", kNodeBody},
                                   {"/api/", "A\n"},
                                   {"/api/x/y", "A\n"},
                                   {"/api/b", "A\n"},
                                   {"/api/b/", "B\n"},
                                   {"/api/b/x", "B\n"},
                                   {"/api/b/local/", kNodeBody},
                                   {"/api/b/local/x", kNodeBody}};
  for (const Case& c : cases) {
    std::optional<HttpResponse> response = Get(client, c.target);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << c.target;
    EXPECT_EQ(response->body, c.body) << c.target;
  }
  EXPECT_EQ(a.request_count(), 3u);
  EXPECT_EQ(b.request_count(), 2u);

  v1::NodeConfig config;
  ASSERT_TRUE(control_->GetConfig(&config).ok());
  ASSERT_EQ(config.routes_size(), 4);
  v1::Stats stats = Stats();
  for (auto [prefix, requests] : {std::pair<std::string, uint64_t>{"/", 3},
                                  {"/api/", 3},
                                  {"/api/b/", 2},
                                  {"/api/b/local/", 2}}) {
    const v1::RouteStats* route = FindRoute(stats, prefix);
    ASSERT_NE(route, nullptr) << prefix << ": " << stats.DebugString();
    EXPECT_EQ(route->requests(), requests) << prefix;
  }
}

TEST_F(ProxyTest, RoutesComeFromAJsonConfigFileAndFollowItsChanges) {
  UpstreamServer a(Reply{.text = "A\n"});
  UpstreamServer b(Reply{.text = "B\n"});
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  auto config_with_upstream = [](const std::string& address) {
    return R"({"delay": "0s", "routes": [{"prefix": "/p/", "action": "PROXY", "upstreams": [")" +
           address + R"("]}]})";
  };
  ConfigMapDirectory dir("proxynode.json");
  dir.Publish(config_with_upstream(a.address()));
  ASSERT_TRUE(StartProxy({"--config=" + dir.file()}));

  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> proxied = Get(client, "/p/1");
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->body, "A\n");
  std::optional<HttpResponse> answered = Get(client, "/q");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->body, kNodeBody);

  dir.Publish(config_with_upstream(b.address()));
  // Logged once every worker runs the new config (GetConfig shows it as soon as it is
  // accepted, a moment before the workers have it).
  EXPECT_TRUE(proxy_.WaitForOutput("\"message\":\"config file applied\"", 10s)) << proxy_.Output();
  std::optional<HttpResponse> after = Get(client, "/p/2");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "B\n");
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(b.request_count(), 1u);
}

TEST_F(ProxyTest, DelayPercentChoosesTheShareOfDelayedRequests) {
  UpstreamServer upstream;
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--delay=0s"}));
  auto delayed_route = [&](const std::string& prefix, int64_t delay_ms, uint32_t percent) {
    v1::Route route = ProxyRoute(prefix, {upstream.address()});
    *route.mutable_delay() = Millis(delay_ms);
    route.set_delay_percent(percent);
    return route;
  };
  ASSERT_TRUE(SetRoutes({delayed_route("/none/", 300, 0), delayed_route("/all/", 300, 100),
                         delayed_route("/half/", 100, 50)}));
  HttpClient client = ConnectTo(proxy_.http_port());

  constexpr int kEach = 5;
  for (int i = 0; i < kEach; ++i) {
    auto start = Clock::now();
    ASSERT_TRUE(Get(client, "/none/x"));
    EXPECT_LT(Since(start).count(), 200) << "delay_percent 0, request " << i;
    start = Clock::now();
    ASSERT_TRUE(Get(client, "/all/x"));
    EXPECT_GE(Since(start).count(), 290) << "delay_percent 100, request " << i;
  }
  // 50%: 40 requests, expected 20 delayed; [8, 32] is over 3.5 standard deviations wide.
  constexpr int kHalf = 40;
  int slow = 0;
  for (int i = 0; i < kHalf; ++i) {
    const auto start = Clock::now();
    ASSERT_TRUE(Get(client, "/half/x"));
    if (Since(start).count() >= 90) ++slow;
  }
  EXPECT_GE(slow, 8);
  EXPECT_LE(slow, 32);

  v1::Stats stats = Stats();
  const v1::RouteStats* none = FindRoute(stats, "/none/");
  const v1::RouteStats* all = FindRoute(stats, "/all/");
  const v1::RouteStats* half = FindRoute(stats, "/half/");
  ASSERT_TRUE(none && all && half) << stats.DebugString();
  EXPECT_EQ(none->delayed(), 0u);
  EXPECT_EQ(all->delayed(), static_cast<uint64_t>(kEach));
  EXPECT_EQ(half->requests(), static_cast<uint64_t>(kHalf));
  // The node's count and the client's timing agree (a slow machine can only add slow ones).
  EXPECT_LE(half->delayed(), static_cast<uint64_t>(slow));
  EXPECT_EQ(upstream.request_count(), static_cast<size_t>(2 * kEach + kHalf));
}

TEST_F(ProxyTest, NothingListeningGives502) {
  const std::string dead = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  ASSERT_TRUE(StartProxy({"--upstream=" + dead}));
  HttpClient client = ConnectTo(proxy_.http_port());
  const auto start = Clock::now();
  std::optional<HttpResponse> response = Get(client, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 502);
  EXPECT_LT(Since(start).count(), 1500) << "a refused connect is not a timeout";
  EXPECT_GE(UpstreamErrors(dead, "connect_failed"), 1u);
}

// A listener whose accept queue is full and never drained: Linux drops further SYNs, so a
// connect to it hangs until the connecting side gives up.
class FullListener {
 public:
  FullListener() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    listen(listen_fd_, 0);  // room for one queued connection
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_TRUE(filler_.Connect(port_));
  }
  ~FullListener() { close(listen_fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  HttpClient filler_;  // queued, never accepted: the queue is full
};

TEST_F(ProxyTest, UpstreamThatNeverAcceptsGives504AfterTheConnectTimeout) {
  FullListener full;
  ASSERT_TRUE(StartProxy({"--delay=0s"}));
  v1::Route route = ProxyRoute("/", {full.address()});
  *route.mutable_connect_timeout() = Millis(300);
  ASSERT_TRUE(SetRoutes({route}));
  HttpClient client = ConnectTo(proxy_.http_port());
  const auto start = Clock::now();
  std::optional<HttpResponse> response = Get(client, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_GE(Since(start).count(), 280);
  EXPECT_LT(Since(start).count(), 3000);
  EXPECT_GE(UpstreamErrors(full.address(), "connect_timeout"), 1u);
}

TEST_F(ProxyTest, UpstreamThatClosesOrResetsGives502) {
  UpstreamServer upstream;
  upstream.SetReply("/close", Reply{.fault = Reply::Fault::kCloseWithoutAnswer});
  upstream.SetReply("/reset", Reply{.fault = Reply::Fault::kReset});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  for (std::string target : {"/close", "/reset"}) {
    HttpClient client = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> response = Get(client, target);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502) << target;
  }
  EXPECT_GE(UpstreamErrors(upstream.address(), "broken"), 2u);
}

// An upstream that answers before reading the body (an early 413) and closes makes the node's
// sends fail; its answer is still in the node's receive queue and must reach the client, not
// a 502, and the client's connection goes on.
TEST_F(ProxyTest, EarlyAnswerToAnUnreadBodyReachesTheClient) {
  UpstreamServer upstream(
      Reply{.status = 413, .text = "too big for me\n", .answer_before_body = true});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address(), "--max_body_bytes=67108864"}));
  HttpClient client = ConnectTo(proxy_.http_port());
  for (int round = 0; round < 2; ++round) {
    std::optional<HttpResponse> response =
        client.RoundTrip(Post("/upload", std::string(16 * 1024 * 1024, 'x')));
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 413);
    EXPECT_EQ(response->body, "too big for me\n");
  }
  EXPECT_EQ(UpstreamErrors(upstream.address(), "broken"), 0u);
}

TEST_F(ProxyTest, SlowUpstreamGives504AfterTheFirstByteTimeout) {
  UpstreamServer upstream(Reply{.first_byte_delay = 10s});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--delay=0s"}));
  v1::Route route = ProxyRoute("/", {upstream.address()});
  *route.mutable_first_byte_timeout() = Millis(300);
  ASSERT_TRUE(SetRoutes({route}));
  HttpClient client = ConnectTo(proxy_.http_port());
  const auto start = Clock::now();
  std::optional<HttpResponse> response = Get(client, "/slow");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 504);
  EXPECT_GE(Since(start).count(), 280);
  EXPECT_LT(Since(start).count(), 3000);
  EXPECT_EQ(upstream.request_count(), 1u);
  EXPECT_GE(UpstreamErrors(upstream.address(), "first_byte_timeout"), 1u);
}

TEST_F(ProxyTest, ResponseCutByTheUpstreamEndsTheClientConnection) {
  UpstreamServer upstream(
      Reply{.text = std::string(100'000, 'x'), .fault = Reply::Fault::kCutBody});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy({"--upstream=" + upstream.address()}));
  HttpClient client = ConnectTo(proxy_.http_port());
  // The head (with the full length) went on before the cut: the client must see its
  // connection end inside the body, neither a complete response nor a wait that never ends.
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/cut"));
  EXPECT_FALSE(response) << "status " << response->status << ", " << response->body.size()
                         << " body bytes";
  EXPECT_NE(client.error().find("closed inside a response body"), std::string::npos)
      << client.error();
  EXPECT_GE(UpstreamErrors(upstream.address(), "broken"), 1u);
}

}  // namespace
}  // namespace proxynode::testing
