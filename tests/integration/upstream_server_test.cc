// The test upstream (tests/testing/upstream_server.h) does what the proxy tests rely on: each
// reply kind, framing and fault, keep-alive and pipelining, the request record, and a Stop()
// that never hangs. Driven with the plain test client, no node involved.

#include "tests/testing/upstream_server.h"

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/body_pattern.h"
#include "tests/testing/chunked_decoder.h"
#include "tests/testing/http_client.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Reply = UpstreamReply;

std::string Post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

bool WaitUntilNoOpenConnections(const UpstreamServer& server) {
  const auto deadline = Clock::now() + 2s;
  while (server.open_connections() > 0) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string GetAndClose(std::string_view target) {
  return GetRequest(target, "Connection: close\r\n");
}

TEST(ChunkedDecoderTest, DecodesAcrossAnySplitAndStopsAtTheMessageEnd) {
  const std::string wire =
      "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    ChunkedDecoder decoder;
    std::string out;
    std::string rest;
    for (size_t at = 0; at < wire.size(); at += piece) {
      std::string_view input = std::string_view(wire).substr(at, piece);
      if (decoder.state() == ChunkedDecoder::State::kDone) {
        rest.append(input);
        continue;
      }
      decoder.Feed(&input, &out);
      rest.append(input);
    }
    ASSERT_EQ(decoder.state(), ChunkedDecoder::State::kDone) << "piece " << piece;
    EXPECT_EQ(out, "hello world") << "piece " << piece;
    EXPECT_EQ(rest, "NEXT") << "piece " << piece;
  }
}

TEST(ChunkedDecoderTest, RefusesBrokenFraming) {
  EXPECT_FALSE(DecodeChunked("zz\r\nabc\r\n0\r\n\r\n"));
  EXPECT_FALSE(DecodeChunked("3\r\nabcd\r\n0\r\n\r\n"));
  EXPECT_FALSE(DecodeChunked("3\r\nabc\r\n"));  // no last chunk
  EXPECT_EQ(DecodeChunked("3\r\nabc\r\n0\r\n\r\n"), "abc");
}

TEST(BodyDigestTest, PatternDigestMatchesTheBytesAndSeesAnyChange) {
  std::string body(300'000, '\0');
  FillPattern(0, body.data(), body.size());
  BodyDigest whole;
  whole.Add(body);
  EXPECT_EQ(whole, PatternDigest(body.size()));
  std::swap(body[1000], body[200'000]);
  BodyDigest swapped;
  swapped.Add(body);
  EXPECT_NE(swapped, whole);
  // Two 8 KiB blocks swapped: the pattern does not repeat at that distance.
  FillPattern(0, body.data(), body.size());
  std::swap_ranges(body.begin(), body.begin() + 8192, body.begin() + 65536);
  BodyDigest blocks;
  blocks.Add(body);
  EXPECT_NE(blocks, whole);
}

TEST(UpstreamServerTest, EchoesBodyAndHeadAndRecordsTheRequest) {
  UpstreamServer server(Reply{.body = Reply::Body::kEcho});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::optional<HttpResponse> response =
      client.RoundTrip(Post("/echo?x=1", "ping body", "X-Test: yes\r\n"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ping body");
  EXPECT_EQ(response->Header("X-Echo-Method"), "POST");
  EXPECT_EQ(response->Header("X-Echo-Target"), "/echo?x=1");
  EXPECT_EQ(response->Header("X-Echo-X-Test"), "yes");
  EXPECT_EQ(response->Header("X-Upstream-Port"), std::to_string(server.port()));

  std::vector<RecordedRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/echo?x=1");
  EXPECT_EQ(requests[0].version, "HTTP/1.1");
  EXPECT_EQ(requests[0].Header("x-test"), "yes");
  EXPECT_EQ(requests[0].body, "ping body");
  EXPECT_EQ(requests[0].body_digest.size(), 9u);
  EXPECT_FALSE(requests[0].chunked);
  EXPECT_EQ(requests[0].connection, 1u);
}

TEST(UpstreamServerTest, KeepsTheConnectionAliveAndAnswersPipelinedRequestsInOrder) {
  UpstreamServer server(Reply{.body = Reply::Body::kEcho});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::string burst;
  for (int i = 0; i < 5; ++i) burst += GetRequest("/p/" + std::to_string(i));
  ASSERT_TRUE(client.Send(burst));
  for (int i = 0; i < 5; ++i) {
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->Header("X-Echo-Target"), "/p/" + std::to_string(i));
    EXPECT_FALSE(response->ConnectionClose());
  }
  std::optional<HttpResponse> again = client.RoundTrip(GetRequest("/again"));
  ASSERT_TRUE(again) << client.error();
  EXPECT_EQ(server.accepted_connections(), 1u);
  EXPECT_EQ(server.request_count(), 6u);
}

TEST(UpstreamServerTest, LongestPrefixPicksTheReply) {
  UpstreamServer server(Reply{.text = "default\n"});
  server.SetReply("/a/", Reply{.text = "a\n"});
  server.SetReply("/a/b/", Reply{.status = 404, .text = "ab\n"});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  for (auto [target, status, body] : {std::tuple{"/", 200, "default\n"},
                                      {"/a/x", 200, "a\n"},
                                      {"/a/b/c", 404, "ab\n"},
                                      {"/ab", 200, "default\n"}}) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest(target));
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, status) << target;
    EXPECT_EQ(response->body, body) << target;
  }
}

TEST(UpstreamServerTest, HeadGetsTheLengthWithoutABody) {
  UpstreamServer server(Reply{.text = "twelve bytes"});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::optional<HttpResponse> head = client.RoundTrip(HeadRequest("/"), /*head_request=*/true);
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->Header("Content-Length"), "12");
  EXPECT_TRUE(head->body.empty());
  std::optional<HttpResponse> get = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(get) << client.error();
  EXPECT_EQ(get->body, "twelve bytes");
}

TEST(UpstreamServerTest, ChunkedResponseCarriesTheBodyInChunks) {
  UpstreamServer server(
      Reply{.text = "0123456789", .framing = Reply::Framing::kChunked, .chunk_bytes = 4});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  // The test client reads a body without a length to the end: ask the server to close.
  std::optional<HttpResponse> response = client.RoundTrip(GetAndClose("/"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->Header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(response->HasHeader("Content-Length"));
  EXPECT_EQ(response->body, "4\r\n0123\r\n4\r\n4567\r\n2\r\n89\r\n0\r\n\r\n");
  EXPECT_EQ(DecodeChunked(response->body), "0123456789");
}

TEST(UpstreamServerTest, CloseDelimitedResponseEndsWithTheConnection) {
  UpstreamServer server(Reply{.text = "until close", .framing = Reply::Framing::kCloseDelimited});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_FALSE(response->HasHeader("Content-Length"));
  EXPECT_FALSE(response->HasHeader("Transfer-Encoding"));
  EXPECT_EQ(response->body, "until close");
}

TEST(UpstreamServerTest, GeneratedBodyIsThePattern) {
  constexpr uint64_t kSize = 8 << 20;
  UpstreamServer server(Reply{.body = Reply::Body::kGenerated, .generated_bytes = kSize});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"), false, 10s);
  ASSERT_TRUE(response) << client.error();
  ASSERT_EQ(response->body.size(), kSize);
  BodyDigest digest;
  digest.Add(response->body);
  EXPECT_EQ(digest, PatternDigest(kSize));
}

TEST(UpstreamServerTest, ChunkedRequestBodyIsDecodedAndRecorded) {
  UpstreamServer server(Reply{.body = Reply::Body::kEcho});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  std::optional<HttpResponse> response = client.RoundTrip(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, "abcde");
  std::vector<RecordedRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].chunked);
  EXPECT_EQ(requests[0].body, "abcde");
  // The connection goes on after the last chunk.
  std::optional<HttpResponse> next = client.RoundTrip(GetRequest("/n"));
  ASSERT_TRUE(next) << client.error();
  EXPECT_EQ(next->Header("X-Echo-Target"), "/n");
}

TEST(UpstreamServerTest, DelaysWaitBeforeTheAnswer) {
  UpstreamServer server(Reply{.first_byte_delay = 300ms});
  ASSERT_TRUE(server.Start());
  HttpClient client = ConnectTo(server.port());
  const auto start = Clock::now();
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(response) << client.error();
  EXPECT_GE(Clock::now() - start, 290ms);
}

TEST(UpstreamServerTest, FaultsCloseResetOrCutTheAnswer) {
  UpstreamServer server;
  server.SetReply("/close", Reply{.fault = Reply::Fault::kCloseWithoutAnswer});
  server.SetReply("/reset", Reply{.fault = Reply::Fault::kReset});
  server.SetReply("/cut", Reply{.text = std::string(1000, 'x'), .fault = Reply::Fault::kCutBody});
  ASSERT_TRUE(server.Start());

  HttpClient closed = ConnectTo(server.port());
  ASSERT_TRUE(closed.Send(GetRequest("/close")));
  EXPECT_TRUE(closed.IsClosedByPeer()) << closed.error();

  HttpClient reset = ConnectTo(server.port());
  EXPECT_FALSE(reset.RoundTrip(GetRequest("/reset")));
  EXPECT_NE(reset.error().find("reset"), std::string::npos) << reset.error();

  HttpClient cut = ConnectTo(server.port());
  EXPECT_FALSE(cut.RoundTrip(GetRequest("/cut")));
  EXPECT_NE(cut.error().find("closed inside a response body"), std::string::npos) << cut.error();
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(UpstreamServerTest, CloseAfterAndCloseIdleEndTheConnection) {
  UpstreamServer server;
  server.SetReply("/last", Reply{.close_after = true});
  ASSERT_TRUE(server.Start());
  HttpClient closing = ConnectTo(server.port());
  std::optional<HttpResponse> last = closing.RoundTrip(GetRequest("/last"));
  ASSERT_TRUE(last) << closing.error();
  EXPECT_TRUE(last->ConnectionClose());
  EXPECT_TRUE(closing.IsClosedByPeer()) << closing.error();

  HttpClient idle = ConnectTo(server.port());
  ASSERT_TRUE(idle.RoundTrip(GetRequest("/")));
  ASSERT_TRUE(server.CloseIdleConnections());
  EXPECT_TRUE(idle.IsClosedByPeer()) << idle.error();
  EXPECT_TRUE(WaitUntilNoOpenConnections(server));
}

TEST(UpstreamServerTest, StopCutsWaitingRepliesAndRefusesNewConnections) {
  UpstreamServer server(Reply{.first_byte_delay = 30s});
  ASSERT_TRUE(server.Start());
  HttpClient waiting = ConnectTo(server.port());
  ASSERT_TRUE(waiting.Send(GetRequest("/")));
  HttpClient idle = ConnectTo(server.port());
  ASSERT_TRUE(server.WaitForRequests(1, 2s));
  const auto start = Clock::now();
  server.Stop();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(waiting.ReadResponse(false, 2s));
  HttpClient late;
  EXPECT_FALSE(late.Connect(server.port(), 1s));
}

}  // namespace
}  // namespace proxynode::testing
