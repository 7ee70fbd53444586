// The reverse proxy streams: chunked bodies both ways, close-delimited responses re-framed,
// 100 MiB each way without the node's memory growing with it, and backpressure from a slow
// client to the upstream and from a slow upstream to the client. Bodies this large are
// generated as they are sent (PatternByte) and compared by digest on the far side, so neither
// the test nor the upstream holds them either.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/body_pattern.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/process_rss.h"
#include "tests/testing/stream_client.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Reply = UpstreamReply;

constexpr uint64_t kMiB = 1 << 20;
// Sanitizer builds keep freed memory in quarantine, so there the RSS bound is not checked and
// a smaller body shows the streaming works at all (in a node several times slower).
constexpr uint64_t kHugeBytes = (abuse::kSanitized ? 32 : 100) * kMiB;
// What the node may add to its resident memory while a huge body passes: its buffers, not
// the body.
constexpr int64_t kRssGrowthLimitKib = 8 * 1024;
constexpr auto kHugeTimeout = abuse::kSanitized ? 120s : 40s;

std::string PostHead(std::string_view target, std::optional<uint64_t> length) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
         (length ? "Content-Length: " + std::to_string(*length) : "Transfer-Encoding: chunked") +
         "\r\n\r\n";
}

class ProxyStreamTest : public ::testing::Test {
 protected:
  // The node under test in front of `upstream`: 2 workers, bodies up to 1 GiB. The upstream
  // answers /warm-up small (WarmBaselineKib).
  ::testing::AssertionResult StartProxy(UpstreamServer& upstream) {
    upstream.SetReply("/warm-up", Reply{});
    return proxy_.Start(
        {"--workers=2", "--upstream=" + upstream.address(), "--max_body_bytes=1073741824"});
  }

  // One small request through the proxy, so its pools and buffers exist; then its RSS.
  int64_t WarmBaselineKib() {
    HttpClient client = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/warm-up"));
    EXPECT_TRUE(response) << client.error();
    return ResidentKib(proxy_.pid());
  }

  void ExpectRssGrowthBounded(int64_t baseline_kib, int64_t peak_kib) {
    RecordProperty("rss_growth_kib", std::to_string(peak_kib - baseline_kib));
    std::fprintf(stderr, "node RSS: baseline %lld KiB, peak %lld KiB\n",
                 static_cast<long long>(baseline_kib), static_cast<long long>(peak_kib));
    if (abuse::kSanitized) return;
    EXPECT_LT(peak_kib - baseline_kib, kRssGrowthLimitKib)
        << "baseline " << baseline_kib << " KiB, peak " << peak_kib << " KiB";
  }

  NodeProcess proxy_;
};

TEST_F(ProxyStreamTest, ChunkedRequestBodyGoesUpstreamChunked) {
  UpstreamServer upstream(Reply{.body = Reply::Body::kEcho});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(
      PostHead("/chunked", std::nullopt) + "3\r\nabc\r\n1;ext=x\r\nd\r\n6\r\nefghij\r\n0\r\n\r\n");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "abcdefghij");

  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0].chunked) << "a body of unknown length goes on chunked";
  EXPECT_FALSE(requests[0].Header("Content-Length"));
  EXPECT_EQ(requests[0].body, "abcdefghij");
  // The connection is in step after the last chunk.
  std::optional<HttpResponse> next = client.RoundTrip(GetRequest("/next"));
  ASSERT_TRUE(next) << client.error();
  EXPECT_EQ(next->Header("X-Echo-Target"), "/next");
}

TEST_F(ProxyStreamTest, ChunkedResponseReachesTheClientChunkedAndIntact) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += std::to_string(i) + ",";
  UpstreamServer upstream(
      Reply{.text = text, .framing = Reply::Framing::kChunked, .chunk_bytes = 7});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  for (int round = 0; round < 2; ++round) {  // twice: the connection stays in step
    ASSERT_TRUE(client.Send(GetRequest("/chunks"), 5s));
    std::optional<StreamedResponse> response = client.ReadResponse(5s);
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->chunked) << response->head;
    EXPECT_FALSE(response->has_length) << response->head;
    BodyDigest expected;
    expected.Add(text);
    EXPECT_EQ(response->body, expected);
  }
}

TEST_F(ProxyStreamTest, CloseDelimitedResponseIsReframedChunkedForHttp11) {
  const std::string text = "a body that ends when the upstream closes\n";
  UpstreamServer upstream(Reply{.text = text, .framing = Reply::Framing::kCloseDelimited});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  BodyDigest expected;
  expected.Add(text);
  for (int round = 0; round < 2; ++round) {  // the client's connection outlives the upstream's
    ASSERT_TRUE(client.Send(GetRequest("/close-delimited"), 5s));
    std::optional<StreamedResponse> response = client.ReadResponse(5s);
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->chunked) << response->head;
    EXPECT_FALSE(response->HasField("Connection: close")) << response->head;
    EXPECT_EQ(response->body, expected);
  }
  EXPECT_EQ(upstream.accepted_connections(), 2u);
}

TEST_F(ProxyStreamTest, CloseDelimitedResponseToAnHttp10ClientEndsWithTheConnection) {
  const std::string text = "no chunks for HTTP/1.0\n";
  UpstreamServer upstream(Reply{.text = text, .framing = Reply::Framing::kCloseDelimited});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  HttpClient client = ConnectTo(proxy_.http_port());
  std::optional<HttpResponse> response = client.RoundTrip("GET /old HTTP/1.0\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(response) << client.error() << ", received: " << client.buffered();
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->HasHeader("Transfer-Encoding"));
  EXPECT_EQ(response->body, text);  // read to the end of the connection
}

class HugeResponseTest : public ProxyStreamTest,
                         public ::testing::WithParamInterface<Reply::Framing> {};

TEST_P(HugeResponseTest, HundredMiBStreamsWithTheNodeRssBounded) {
  UpstreamServer upstream(
      Reply{.body = Reply::Body::kGenerated, .generated_bytes = kHugeBytes, .framing = GetParam()});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  const int64_t baseline = WarmBaselineKib();
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  PeakRss peak(proxy_.pid());
  ASSERT_TRUE(client.Send(GetRequest("/huge"), 5s));
  std::optional<StreamedResponse> response = client.ReadResponse(kHugeTimeout);
  const int64_t peak_kib = peak.Stop();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, PatternDigest(kHugeBytes));
  ExpectRssGrowthBounded(baseline, peak_kib);
}

INSTANTIATE_TEST_SUITE_P(Framings, HugeResponseTest,
                         ::testing::Values(Reply::Framing::kContentLength, Reply::Framing::kChunked,
                                           Reply::Framing::kCloseDelimited),
                         [](const ::testing::TestParamInfo<Reply::Framing>& framing) {
                           switch (framing.param) {
                             case Reply::Framing::kContentLength:
                               return "ContentLength";
                             case Reply::Framing::kChunked:
                               return "Chunked";
                             case Reply::Framing::kCloseDelimited:
                               return "CloseDelimited";
                           }
                           return "Unknown";
                         });

class HugeRequestTest : public ProxyStreamTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HugeRequestTest, HundredMiBBodyStreamsWithTheNodeRssBounded) {
  const bool chunked = GetParam();
  UpstreamServer upstream(Reply{.text = "stored\n"});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  const int64_t baseline = WarmBaselineKib();
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  PeakRss peak(proxy_.pid());
  ASSERT_TRUE(client.Send(
      PostHead("/upload", chunked ? std::nullopt : std::optional<uint64_t>(kHugeBytes)), 5s));
  ASSERT_TRUE(client.SendPatternBody(kHugeBytes, chunked, kHugeTimeout));
  std::optional<StreamedResponse> response = client.ReadResponse(kHugeTimeout);
  const int64_t peak_kib = peak.Stop();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);

  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 2u);  // the warm-up, then the upload
  EXPECT_EQ(requests[1].chunked, chunked);
  EXPECT_EQ(requests[1].body_digest, PatternDigest(kHugeBytes));
  ExpectRssGrowthBounded(baseline, peak_kib);
}

INSTANTIATE_TEST_SUITE_P(Framings, HugeRequestTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& chunked) {
                           return chunked.param ? "Chunked" : "ContentLength";
                         });

TEST_F(ProxyStreamTest, SlowReadingClientHoldsBackTheUpstream) {
  constexpr uint64_t kBytes = 64 * kMiB;
  UpstreamServer upstream(Reply{.body = Reply::Body::kGenerated, .generated_bytes = kBytes});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  const int64_t baseline = WarmBaselineKib();
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  PeakRss peak(proxy_.pid());
  ASSERT_TRUE(client.Send(GetRequest("/slow-reader"), 5s));
  // 1 MiB in, the client stops reading for 2 s: meanwhile the upstream goes on writing, and
  // all the node may do is stop reading it.
  std::optional<StreamedResponse> response = client.ReadResponse(kHugeTimeout, kMiB, 2s);
  const int64_t peak_kib = peak.Stop();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, PatternDigest(kBytes));
  ExpectRssGrowthBounded(baseline, peak_kib);
}

TEST_F(ProxyStreamTest, SlowReadingUpstreamHoldsBackTheClient) {
  constexpr auto kStall = 2s;
  UpstreamServer upstream(Reply{.text = "stored\n", .body_read_stall = kStall});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartProxy(upstream));
  const int64_t baseline = WarmBaselineKib();
  StreamClient client;
  ASSERT_TRUE(client.Connect(proxy_.http_port()));
  PeakRss peak(proxy_.pid());
  ASSERT_TRUE(client.Send(PostHead("/upload", kHugeBytes), 5s));
  ::testing::AssertionResult body_sent = ::testing::AssertionSuccess();
  std::thread sender([&] { body_sent = client.SendPatternBody(kHugeBytes, false, kHugeTimeout); });
  // Near the end of the upstream's stall, what the client got rid of is bounded by socket
  // buffers along the way, not by the body.
  std::this_thread::sleep_for(kStall - 300ms);
  const uint64_t sent_during_stall = client.sent();
  sender.join();
  ASSERT_TRUE(body_sent);
  std::optional<StreamedResponse> response = client.ReadResponse(kHugeTimeout);
  const int64_t peak_kib = peak.Stop();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  std::fprintf(stderr, "client got %llu bytes off during the upstream's stall\n",
               static_cast<unsigned long long>(sent_during_stall));
  // (Vacuous in sanitizer builds, whose body is smaller than the bound.)
  EXPECT_LT(sent_during_stall, 64 * kMiB) << "the node took the body faster than the upstream";
  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].body_digest, PatternDigest(kHugeBytes));
  ExpectRssGrowthBounded(baseline, peak_kib);
}

}  // namespace
}  // namespace proxynode::testing
