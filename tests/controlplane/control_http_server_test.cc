// ControlHttpServer (control_http_server.h) with a handler of the test's own: keep-alive and
// pipelining, an answer larger than the socket buffers (written as the client reads, with
// the pipelined request behind it answered after), malformed requests, and the client cap.

#include "controlplane/control_http_server.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace proxynode {
namespace {

using ::proxynode::testing::ConnectTo;
using ::proxynode::testing::GetRequest;
using ::proxynode::testing::HttpClient;
using ::proxynode::testing::HttpResponse;

constexpr size_t kLargeBody = 8 << 20;  // far beyond loopback's socket buffers

class ControlHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(ControlHttpLimits limits) {
    server_.reset();
    absl::StatusOr<SocketAddress> address = ParseSocketAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    absl::StatusOr<std::unique_ptr<ControlHttpServer>> started = ControlHttpServer::Start(
        *address,
        [this](const ControlHttpRequest& request) {
          handled_.fetch_add(1);
          if (request.path == "/large") {
            return ControlHttpReply{.status = 200, .body = std::string(kLargeBody, 'x')};
          }
          return ControlHttpReply{.status = 200,
                                  .body = absl::StrCat(request.path, " ", request.body.size())};
        },
        limits);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    port_ = server_->address().port();
  }

  std::unique_ptr<ControlHttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<int> handled_{0};
};

TEST_F(ControlHttpServerTest, KeepAliveAndQueryLeftOut) {
  HttpClient client = ConnectTo(port_);
  for (int i = 0; i < 3; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/path?query=1"));
    ASSERT_TRUE(response.has_value()) << client.error();
    EXPECT_EQ(response->body, "/path 0");
    EXPECT_FALSE(response->ConnectionClose());
  }
}

TEST_F(ControlHttpServerTest, LargeAnswerThenThePipelinedRequestBehindIt) {
  HttpClient client = ConnectTo(port_);
  ASSERT_TRUE(client.Send(GetRequest("/large") + GetRequest("/after")));
  std::optional<HttpResponse> large = client.ReadResponse();
  ASSERT_TRUE(large.has_value()) << client.error();
  EXPECT_EQ(large->body.size(), kLargeBody);
  std::optional<HttpResponse> after = client.ReadResponse();
  ASSERT_TRUE(after.has_value()) << client.error();
  EXPECT_EQ(after->body, "/after 0");
}

TEST_F(ControlHttpServerTest, BodyIsCollectedChunkedToo) {
  HttpClient client = ConnectTo(port_);
  std::optional<HttpResponse> response = client.RoundTrip(
      "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(response.has_value()) << client.error();
  EXPECT_EQ(response->body, "/p 5");
}

TEST_F(ControlHttpServerTest, MalformedRequestIsAnsweredAndClosedOthersServed) {
  HttpClient good = ConnectTo(port_);
  HttpClient bad = ConnectTo(port_);
  std::optional<HttpResponse> refused = bad.RoundTrip("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
  ASSERT_TRUE(refused.has_value()) << bad.error();
  EXPECT_EQ(refused->status, 400);
  EXPECT_TRUE(refused->ConnectionClose());
  EXPECT_TRUE(bad.IsClosedByPeer());
  std::optional<HttpResponse> served = good.RoundTrip(GetRequest("/still"));
  ASSERT_TRUE(served.has_value()) << good.error();
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(ControlHttpServerTest, ConnectionCloseIsHonoured) {
  HttpClient client = ConnectTo(port_);
  std::optional<HttpResponse> response =
      client.RoundTrip(GetRequest("/bye", "Connection: close\r\n"));
  ASSERT_TRUE(response.has_value()) << client.error();
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer());
}

TEST_F(ControlHttpServerTest, ClientsOverTheCapAreClosed) {
  Start(ControlHttpLimits{.max_clients = 1});
  HttpClient first = ConnectTo(port_);
  ASSERT_TRUE(first.RoundTrip(GetRequest("/one")).has_value()) << first.error();
  HttpClient second = ConnectTo(port_);
  EXPECT_TRUE(second.IsClosedByPeer());
  ASSERT_TRUE(first.RoundTrip(GetRequest("/two")).has_value()) << first.error();
}

}  // namespace
}  // namespace proxynode
