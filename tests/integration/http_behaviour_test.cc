// HTTP/1.1 behaviour of the real node over sockets: responses, HEAD, keep-alive rules,
// pipelining and request bodies.

#include <chrono>
#include <csignal>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

TEST(HttpBehaviourTest, GetReturnsHelloWorldAfterTheDelay) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=50ms", "--workers=2"}));
  HttpClient client = ConnectTo(node.http_port());

  const auto sent_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send(GetRequest()));
  std::optional<HttpResponse> response = client.ReadResponse();
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - sent_at)
                              .count();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->version, "HTTP/1.1");
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "Hello World\n");
  EXPECT_EQ(response->Header("Content-Length"), "12");
  std::optional<std::string> date = response->Header("Date");
  ASSERT_TRUE(date);
  EXPECT_TRUE(date->ends_with(" GMT")) << *date;
  EXPECT_FALSE(response->ConnectionClose());
  // Only a lower bound: the delay is a timer, so the response cannot come early.
  EXPECT_GE(elapsed_ms, 45);
}

TEST(HttpBehaviourTest, CustomBody) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--body=custom payload\n"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send(GetRequest("/anything?x=1")));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "custom payload\n");
  EXPECT_EQ(response->Header("Content-Length"), "15");
}

TEST(HttpBehaviourTest, HeadHasContentLengthButNoBody) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  // Pipelined: had the HEAD response carried a body, the GET response would not parse.
  ASSERT_TRUE(client.Send(HeadRequest() + GetRequest()));
  std::optional<HttpResponse> head = client.ReadResponse(/*head_request=*/true);
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length"), "12");
  EXPECT_TRUE(head->body.empty());

  std::optional<HttpResponse> get = client.ReadResponse();
  ASSERT_TRUE(get) << client.error();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "Hello World\n");
  EXPECT_TRUE(client.buffered().empty()) << client.buffered();
}

TEST(KeepAliveTest, TwentySequentialRequestsOnOneConnection) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Send(GetRequest()));
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "request " << i;
    EXPECT_EQ(response->body, "Hello World\n") << "request " << i;
    EXPECT_FALSE(response->ConnectionClose()) << "request " << i;
  }
}

TEST(KeepAliveTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\n\r\n"));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "Hello World\n");
  EXPECT_NE(response->Header("Connection"), "keep-alive");
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

TEST(KeepAliveTest, Http10WithKeepAliveStaysOpen) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->Header("Connection"), "keep-alive") << "request " << i;
  }
}

TEST(KeepAliveTest, Http11ConnectionCloseIsHonoured) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send(GetRequest("/", "Connection: close\r\n")));
  std::optional<HttpResponse> response = client.ReadResponse();

  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

// A client may send its requests and half-close at once (e.g. `nc -N`); what it asked for
// is still answered, the last response saying Connection: close.
TEST(KeepAliveTest, HalfClosedClientStillGetsItsResponses) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=50ms"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(client.Send(GetRequest() + GetRequest()));
  client.ShutdownWrite();
  for (int i = 0; i < 2; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "response " << i;
    EXPECT_EQ(response->ConnectionClose(), i == 1) << "response " << i;
  }
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

// The same when the requests and the FIN are already there when the node first looks at the
// connection (one wake-up reports both): stopping the node makes that certain.
TEST(KeepAliveTest, RequestsThatArriveWithTheFinAreAnswered) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  HttpClient client = ConnectTo(node.http_port());
  // Accepted and looked at (nothing to read yet); then both arrive while the node is stopped.
  ASSERT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_connections_active") == 1; },
                        std::chrono::seconds(5)));
  ASSERT_TRUE(node.Signal(SIGSTOP));
  bool sent = client.Send(GetRequest() + GetRequest());
  client.ShutdownWrite();
  ASSERT_TRUE(node.Signal(SIGCONT));
  ASSERT_TRUE(sent) << client.error();
  for (int i = 0; i < 2; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "response " << i;
  }
  // (Whether the last one says Connection: close depends on whether the node saw the FIN
  // before it answered; at zero delay it may not have.)
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
}

TEST(PipeliningTest, HundredRequestsInOneWriteAnsweredInOrder) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=20ms"}));
  HttpClient client = ConnectTo(node.http_port());
  constexpr int kRequests = 100;
  constexpr int kHeadIndex = 50;

  std::string requests;
  for (int i = 0; i < kRequests; ++i) {
    // Appended, not "/" + text: GCC 12 at -O3 fails on that (-Wrestrict, GCC bug 105329).
    const std::string target = std::string("/").append(std::to_string(i));
    requests += i == kHeadIndex ? HeadRequest(target) : GetRequest(target);
  }
  ASSERT_TRUE(client.Send(requests));

  // In-order delivery shows in the framing: only response 50 may lack a body, and every
  // response after it parses only if that one really had none.
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse(/*head_request=*/i == kHeadIndex);
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "response " << i;
    EXPECT_EQ(response->Header("Content-Length"), "12") << "response " << i;
    EXPECT_EQ(response->body, i == kHeadIndex ? "" : "Hello World\n") << "response " << i;
  }
  EXPECT_TRUE(client.buffered().empty()) << client.buffered();

  // Nothing is owed any more and the connection still serves.
  ASSERT_TRUE(client.Send(GetRequest()));
  std::optional<HttpResponse> after = client.ReadResponse();
  ASSERT_TRUE(after) << client.error();
  EXPECT_EQ(after->status, 200);
}

// The node serializes at most 256 KiB of responses per connection at a time and queues the
// rest; the queued ones must go out once that much has been written.
TEST(PipeliningTest, ResponsesBeyondTheOutputBufferAllArrive) {
  constexpr size_t kBodyBytes = 64 * 1024;
  constexpr int kRequests = 8;  // 512 KiB of responses in all
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--body=" + std::string(kBodyBytes, 'x')}));
  HttpClient client = ConnectTo(node.http_port());

  // A few large responses first let the kernel grow the node's send buffer, so the first
  // 256 KiB then go out in one send() without ever meeting a full socket.
  for (int i = 0; i < 4; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "warm-up " << i << ": " << client.error();
    ASSERT_EQ(response->body.size(), kBodyBytes);
  }

  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += GetRequest();
  ASSERT_TRUE(client.Send(requests));
  for (int i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "response " << i;
    EXPECT_EQ(response->body.size(), kBodyBytes) << "response " << i;
  }
}

TEST(BodiesTest, ContentLengthBodyThenAnotherRequest) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  ASSERT_TRUE(
      client.Send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world"));
  std::optional<HttpResponse> post = client.ReadResponse();
  ASSERT_TRUE(post) << client.error();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "Hello World\n");

  // The body was consumed exactly: the next request on the connection parses.
  ASSERT_TRUE(client.Send(GetRequest()));
  std::optional<HttpResponse> get = client.ReadResponse();
  ASSERT_TRUE(get) << client.error();
  EXPECT_EQ(get->status, 200);
}

TEST(BodiesTest, ChunkedBodyWithExtensionsAndTrailerThenAnotherRequest) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());

  // Written piecewise so the parser may see the body in several reads.
  ASSERT_TRUE(
      client.Send("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(client.Send("5;name=value\r\nhello\r\n"));
  ASSERT_TRUE(client.Send("6;quoted=\"a b\";flag\r\n world\r\n"));
  ASSERT_TRUE(client.Send("A\r\n0123456789\r\n"));
  ASSERT_TRUE(client.Send("0\r\nX-Checksum: abc\r\n\r\n"));
  std::optional<HttpResponse> post = client.ReadResponse();
  ASSERT_TRUE(post) << client.error();
  EXPECT_EQ(post->status, 200);
  EXPECT_FALSE(post->ConnectionClose());

  ASSERT_TRUE(client.Send(GetRequest()));
  std::optional<HttpResponse> get = client.ReadResponse();
  ASSERT_TRUE(get) << client.error();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "Hello World\n");
}

}  // namespace
}  // namespace proxynode::testing
