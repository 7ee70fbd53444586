// The request-target forms (RFC 9112 3.2) against the real binary: absolute-form routed by its
// path and proxied in origin-form with the target's authority as Host; CONNECT refused (501);
// OPTIONS * answered by the node itself; a target over the limit 414 and a head over it 431;
// targets of no valid form 400, the node serving on.

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

constexpr char kNodeBody[] = "answered by the node\n";

class RequestTargetTest : public ProxyFixture {
 protected:
  // The node (its own body for what no proxy route takes, plus `flags`) and an upstream that
  // echoes what it got.
  void StartWithUpstream(const std::vector<std::string>& flags = {}) {
    UpstreamReply echo;
    echo.body = UpstreamReply::Body::kEcho;
    upstream_.SetDefaultReply(echo);
    ASSERT_TRUE(upstream_.Start());
    ASSERT_TRUE(
        StartNode({"--workers=1", "--delay=0s", std::string("--body=") + kNodeBody}, flags));
  }

  // One request on a fresh connection; its response (nullopt and a failure if none came).
  std::optional<HttpResponse> Ask(const std::string& request) {
    HttpClient client = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(request);
    if (!response)
      ADD_FAILURE() << "no response to " << request.substr(0, 80) << ": " << client.error();
    return response;
  }

  // The node still answers an ordinary request.
  void ExpectStillServing() {
    std::optional<HttpResponse> response = Ask(GetRequest("/still"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }

  UpstreamServer upstream_;
};

TEST_F(RequestTargetTest, AnAbsoluteFormRequestIsRoutedByItsPathAndProxiedInOriginForm) {
  StartWithUpstream();
  ASSERT_TRUE(SetRoutes({ProxyRoute("/api/", {upstream_.address()})}));

  std::optional<HttpResponse> proxied =
      Ask("GET http://example.test:8080/api/x?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n");
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->status, 200);
  ASSERT_EQ(upstream_.request_count(), 1u) << "the /api/ route did not take it";
  const RecordedRequest got = upstream_.Requests().front();
  EXPECT_EQ(got.target, "/api/x?q=1");
  // RFC 9112 3.2.2: the target's authority wins over the Host field, and replaces it.
  EXPECT_EQ(got.Header("Host").value_or(""), "example.test:8080");
  EXPECT_EQ(got.HeaderCount("Host"), 1u);

  // Paths no proxy route takes, an empty one (then "/") included, are the node's to answer.
  for (const char* target : {"http://example.test/other", "HTTP://EXAMPLE.TEST", "https://[::1]"}) {
    SCOPED_TRACE(target);
    std::optional<HttpResponse> own =
        Ask(std::string("GET ") + target + " HTTP/1.1\r\nHost: example.test\r\n\r\n");
    ASSERT_TRUE(own);
    EXPECT_EQ(own->status, 200);
    EXPECT_EQ(own->body, kNodeBody);
  }
  EXPECT_EQ(upstream_.request_count(), 1u);
}

TEST_F(RequestTargetTest, ConnectIsRefusedWith501AndTheConnectionCloses) {
  StartWithUpstream();
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream_.address()})}));
  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> response =
      client.RoundTrip("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 501);
  EXPECT_TRUE(response->ConnectionClose());
  EXPECT_TRUE(client.IsClosedByPeer()) << client.error();
  EXPECT_EQ(upstream_.request_count(), 0u);
  ExpectStillServing();
}

TEST_F(RequestTargetTest, OptionsAsteriskIsAnsweredByTheNodeNotProxied) {
  StartWithUpstream();
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream_.address()})}));
  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> response = client.RoundTrip("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->Header("Allow").value_or(""),
            "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH");
  EXPECT_EQ(response->body, "");
  EXPECT_FALSE(response->ConnectionClose());
  EXPECT_EQ(upstream_.request_count(), 0u);
  // The connection goes on; OPTIONS on a path is an ordinary request, proxied.
  response = client.RoundTrip("OPTIONS /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(upstream_.request_count(), 1u);
}

TEST_F(RequestTargetTest, ATargetOverTheLimitGets414AndAHeadOverItGets431) {
  StartWithUpstream({"--max_header_bytes=1024"});
  // The limit is the whole head's, request line included: a request line that alone runs
  // over it is a target too long.
  const std::string long_target = "/" + std::string(1100, 't');
  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest(long_target));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 414);
  EXPECT_TRUE(response->ConnectionClose());

  const std::string big_field = "X-Big: " + std::string(1100, 'f') + "\r\n";
  response = Ask(GetRequest("/short", big_field));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(response->ConnectionClose());

  // Within the limit, a long target is fine.
  response = Ask(GetRequest("/" + std::string(900, 't')));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(proxy_.MetricSum("proxynode_rejected_total", R"(reason="header_too_large")"), 2);
  ExpectStillServing();
}

TEST_F(RequestTargetTest, TargetsOfNoValidFormAre400AndTheNodeServesOn) {
  StartWithUpstream();
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream_.address()})}));
  for (const char* line : {
           "GET * HTTP/1.1",                           // asterisk-form is OPTIONS's alone
           "GET example.test:80 HTTP/1.1",             // authority-form is CONNECT's alone
           "GET relative/path HTTP/1.1",               // no form at all
           "GET http://user@example.test/ HTTP/1.1",   // userinfo (RFC 9110 4.2.4)
           "GET http:///x HTTP/1.1",                   // no host
           "GET ftp://example.test/x HTTP/1.1",        // not an http(s) URI
           "GET http://example.test/x#frag HTTP/1.1",  // a fragment is no part of a target
       }) {
    SCOPED_TRACE(line);
    std::optional<HttpResponse> response = Ask(std::string(line) + "\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(response->ConnectionClose());
  }
  EXPECT_EQ(upstream_.request_count(), 0u);
  ExpectStillServing();
}

}  // namespace
}  // namespace proxynode::testing
