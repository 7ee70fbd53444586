// Each limit of the node, as a client meets it: the status, the headers, whether the
// connection survives, and the proxynode_rejected_total reason that counts it.

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

double Rejected(NodeProcess& node, const std::string& reason) {
  return node.MetricSum("proxynode_rejected_total", "reason=\"" + reason + "\"");
}

TEST(LimitsTest, MaxConnectionsRejectsWith503AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_connections=2", "--delay=0s", "--workers=2"}));
  // Two connections that completed a request certainly hold their slots.
  HttpClient first = ConnectTo(node.http_port());
  HttpClient second = ConnectTo(node.http_port());
  for (HttpClient* held : {&first, &second}) {
    std::optional<HttpResponse> response = held->RoundTrip(GetRequest());
    ASSERT_TRUE(response) << held->error();
    ASSERT_EQ(response->status, 200);
  }

  HttpClient third = ConnectTo(node.http_port());
  ASSERT_TRUE(third.Send(GetRequest()));
  std::optional<HttpResponse> rejected = third.ReadResponse();
  ASSERT_TRUE(rejected) << third.error();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_TRUE(rejected->ConnectionClose());
  EXPECT_TRUE(rejected->HasHeader("Retry-After"));
  EXPECT_TRUE(third.IsClosedByPeer()) << third.error();
  EXPECT_GE(Rejected(node, "max_connections"), 1);

  // The connections holding the slots are unaffected.
  for (HttpClient* held : {&first, &second}) {
    std::optional<HttpResponse> response = held->RoundTrip(GetRequest());
    ASSERT_TRUE(response) << held->error();
    EXPECT_EQ(response->status, 200);
  }

  // A slot given back is usable again (the node sees the close asynchronously, so retry).
  first.Close();
  EXPECT_TRUE(WaitUntil(
      [&] {
        HttpClient next = ConnectTo(node.http_port());
        std::optional<HttpResponse> response = next.RoundTrip(GetRequest());
        return response && response->status == 200;
      },
      2s));
}

TEST(LimitsTest, RateLimitAnswers429AndKeepsTheConnection) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--rate_limit=5", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());
  constexpr int kRequests = 30;

  // Pipelined so all 30 arrive well within one second: a burst of 5 passes, the rest not.
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += GetRequest();
  ASSERT_TRUE(client.Send(requests));

  int ok = 0;
  int limited = 0;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    if (i == 0) {
      EXPECT_EQ(response->status, 200);  // the bucket starts full
    }
    if (response->status == 200) {
      ++ok;
    } else {
      ASSERT_EQ(response->status, 429) << "response " << i;
      ++limited;
      EXPECT_TRUE(response->HasHeader("Retry-After")) << "response " << i;
    }
    // 429 is not a reason to close.
    EXPECT_FALSE(response->ConnectionClose()) << "response " << i;
  }
  EXPECT_GE(ok, 5);
  EXPECT_GE(limited, 1);

  // Still open and serving (200 or 429, depending on the bucket by now).
  std::optional<HttpResponse> after = client.RoundTrip(GetRequest());
  ASSERT_TRUE(after) << client.error();
  EXPECT_TRUE(after->status == 200 || after->status == 429) << after->status;
  if (after->status == 429) ++limited;
  EXPECT_EQ(Rejected(node, "rate_limited"), limited);
}

TEST(LimitsTest, MaxPendingAnswers503WhileRequestsWait) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_pending=5", "--delay=300ms"}));
  constexpr int kClients = 10;

  // Ten connections with one request each: at most 5 may wait on the delay at once.
  std::vector<HttpClient> clients;
  ASSERT_TRUE(ConnectAndSend(node.http_port(), kClients, GetRequest(), &clients));
  int ok = 0;
  int unavailable = 0;
  for (int i = 0; i < kClients; ++i) {
    std::optional<HttpResponse> response = clients[static_cast<size_t>(i)].ReadResponse();
    ASSERT_TRUE(response) << "client " << i << ": " << clients[static_cast<size_t>(i)].error();
    if (response->status == 200) {
      ++ok;
    } else {
      ASSERT_EQ(response->status, 503) << "client " << i;
      ++unavailable;
      EXPECT_TRUE(response->HasHeader("Retry-After")) << "client " << i;
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_GE(unavailable, 1);
  EXPECT_EQ(Rejected(node, "max_pending"), unavailable);
}

TEST(LimitsTest, MaxPendingOnOnePipelinedConnection) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_pending=5", "--delay=300ms"}));
  HttpClient client = ConnectTo(node.http_port());
  constexpr int kRequests = 10;

  // One write, parsed at once: the first 5 take the pending slots, the next 5 find none
  // (and, answered in order, come after the 5 delayed ones).
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += GetRequest();
  ASSERT_TRUE(client.Send(requests));

  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, i < 5 ? 200 : 503) << "response " << i;
    EXPECT_FALSE(response->ConnectionClose()) << "response " << i;
  }
  EXPECT_EQ(Rejected(node, "max_pending"), 5);
}

TEST(LimitsTest, OversizedHeadGets431AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_header_bytes=1024", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send(GetRequest("/", "X-Big: " + std::string(2000, 'a') + "\r\n")));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  EXPECT_GE(Rejected(node, "header_too_large"), 1);
}

TEST(LimitsTest, DeclaredBodyOverLimitGets413AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_body_bytes=100", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n"));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  EXPECT_GE(Rejected(node, "body_too_large"), 1);
}

// The chunked body only goes over the limit after its head was accepted.
TEST(LimitsTest, ChunkedBodyOverLimitGets413AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_body_bytes=100", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  std::string request = "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "32\r\n" + std::string(50, 'b') + "\r\n";  // 4 x 50
  request += "0\r\n\r\n";
  ASSERT_TRUE(client.Send(request));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  EXPECT_GE(Rejected(node, "body_too_large"), 1);
}

TEST(LimitsTest, IncompleteHeadGets408AfterHeaderTimeout) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--header_timeout=300ms", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // no final CRLF: never completes
  std::optional<HttpResponse> response = client.ReadResponse(/*head_request=*/false, 5s);

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  EXPECT_GE(Rejected(node, "header_timeout"), 1);
}

// A body that stops arriving is timed by the idle timeout; the node then answers 408 and
// closes, as it does for a head (Connection::OnTimeoutTimer, kReadingBody).
TEST(LimitsTest, StalledBodyGets408AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--idle_timeout=300ms", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc"));
  std::optional<HttpResponse> response = client.ReadResponse(/*head_request=*/false, 5s);

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  // Counted as a stalled body, not as a slow head.
  EXPECT_EQ(Rejected(node, "body_timeout"), 1);
  EXPECT_EQ(Rejected(node, "header_timeout"), 0);
}

TEST(LimitsTest, IdleKeepAliveConnectionIsClosedQuietly) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--idle_timeout=300ms", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  ASSERT_EQ(response->status, 200);

  // Closed within a few seconds, without a byte (no 408 for an idle connection).
  EXPECT_TRUE(client.IsClosedByPeer(5s)) << client.error();
  EXPECT_GE(node.MetricSum("proxynode_connections_closed_total", R"(reason="idle_timeout")"), 1);
}

TEST(LimitsTest, MaxRequestsPerConnectionClosesAfterTheLast) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_requests_per_connection=3", "--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  for (int i = 1; i <= 3; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "request " << i;
    EXPECT_EQ(response->ConnectionClose(), i == 3) << "request " << i;
  }
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

TEST(LimitsTest, ConflictingFramingGets400AndTheNodeKeepsServing) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient bad = ConnectTo(node.http_port());

  ASSERT_TRUE(bad.Send(
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::optional<HttpResponse> response = bad.ReadResponse();
  ASSERT_TRUE(response) << bad.error();
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(bad.IsClosedByPeer()) << bad.error();
  EXPECT_GE(Rejected(node, "bad_request"), 1);

  HttpClient good = ConnectTo(node.http_port());
  std::optional<HttpResponse> after = good.RoundTrip(GetRequest());
  ASSERT_TRUE(after) << good.error();
  EXPECT_EQ(after->status, 200);
}

TEST(LimitsTest, MalformedChunkGets400AndClose) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  // The head is valid; the chunk size line is not hexadecimal.
  ASSERT_TRUE(
      client.Send("POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: "
                  "chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

TEST(LimitsTest, Http2RequestLineGets505) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  std::optional<HttpResponse> response = client.RoundTrip("GET / HTTP/2.0\r\nHost: a\r\n\r\n");

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 505);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

TEST(LimitsTest, UnsupportedTransferCodingGets501) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  std::optional<HttpResponse> response = client.RoundTrip(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 501);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

}  // namespace
}  // namespace proxynode::testing
