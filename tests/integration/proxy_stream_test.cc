// The reverse proxy streams: chunked bodies both ways, close-delimited responses re-framed,
// 100 MiB each way without the node's memory growing with it, and backpressure from a slow
// client to the upstream and from a slow upstream to the client. Bodies this large are
// generated as they are sent (PatternByte) and compared by digest on the far side, so neither
// the test nor the upstream holds them either.

#include <poll.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/abuse_sockets.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using abuse::RawSocket;
using Clock = std::chrono::steady_clock;
using Reply = UpstreamReply;

constexpr uint64_t kMiB = 1 << 20;
// Sanitizer builds keep freed memory in quarantine, so there the RSS bound is not checked and
// a smaller body shows the streaming works at all (in a node several times slower).
constexpr uint64_t kHugeBytes = (abuse::kSanitized ? 32 : 100) * kMiB;
// What the node may add to its resident memory while a huge body passes: its buffers, not
// the body.
constexpr int64_t kRssGrowthLimitKib = 8 * 1024;
constexpr auto kHugeTimeout = abuse::kSanitized ? 120s : 40s;

// VmRSS of process `pid` in KiB (-1 if unreadable).
int64_t ResidentKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return -1;
}

// The peak VmRSS of a process, sampled every 10 ms on its own thread while it lives.
class PeakRss {
 public:
  explicit PeakRss(pid_t pid) : pid_(pid), sampler_([this] { Sample(); }) {}
  ~PeakRss() { Stop(); }
  int64_t Stop() {
    stop_ = true;
    if (sampler_.joinable()) sampler_.join();
    return peak_;
  }

 private:
  void Sample() {
    while (!stop_) {
      peak_ = std::max(peak_.load(), ResidentKib(pid_));
      std::this_thread::sleep_for(10ms);
    }
  }
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread sampler_;
};

// A response read off a raw socket, its body passed through a digest rather than kept.
struct StreamedResponse {
  int status = 0;
  std::string head;  // status line and fields, CRLF-separated
  BodyDigest body;
  bool chunked = false;
  bool has_length = false;

  bool HasField(std::string_view line) const {
    return abuse::HasFieldLine(head + "\r\n\r\n", line);
  }
};

// One client connection whose bodies stream: sent from the pattern, received into a digest.
class StreamClient {
 public:
  ::testing::AssertionResult Connect(uint16_t port) {
    if (!socket_.StartConnect(port)) {
      return ::testing::AssertionFailure() << "connect: " << std::strerror(errno);
    }
    pollfd pfd{socket_.fd(), POLLOUT, 0};
    if (poll(&pfd, 1, 5000) != 1 || socket_.ConnectError() != 0) {
      return ::testing::AssertionFailure() << "connect failed";
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Send(std::string_view bytes, std::chrono::milliseconds timeout) {
    if (!socket_.SendAll(bytes, timeout)) {
      return ::testing::AssertionFailure() << "send: " << std::strerror(errno);
    }
    sent_ += bytes.size();
    return ::testing::AssertionSuccess();
  }

  // Sends `size` pattern bytes as a body, raw or as chunks of 64 KiB (then the last chunk).
  ::testing::AssertionResult SendPatternBody(uint64_t size, bool chunked,
                                             std::chrono::milliseconds timeout) {
    std::string block(64 * 1024, '\0');
    for (uint64_t offset = 0; offset < size;) {
      size_t piece = static_cast<size_t>(std::min<uint64_t>(block.size(), size - offset));
      FillPattern(offset, block.data(), piece);
      std::string framed;
      if (chunked) {
        char hex[32];
        std::snprintf(hex, sizeof(hex), "%zx\r\n", piece);
        framed = hex;
      }
      framed.append(block.data(), piece);
      if (chunked) framed += "\r\n";
      if (::testing::AssertionResult sent = Send(framed, timeout); !sent) return sent;
      offset += piece;
    }
    return chunked ? Send("0\r\n\r\n", timeout) : ::testing::AssertionSuccess();
  }

  // Reads one response. After `pause_after` body bytes, stops reading for `pause` (a slow
  // client: what the node then holds is what backpressure must bound). A body without length
  // or chunks runs to the end of the connection.
  std::optional<StreamedResponse> ReadResponse(std::chrono::milliseconds timeout,
                                               uint64_t pause_after = UINT64_MAX,
                                               std::chrono::milliseconds pause = 0ms) {
    const auto deadline = Clock::now() + timeout;
    StreamedResponse response;
    size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    response.head = in_.substr(0, head_end);
    in_.erase(0, head_end + 4);
    response.status = abuse::StatusOf(response.head);
    std::optional<uint64_t> length = ContentLength(response.head);
    response.has_length = length.has_value();
    response.chunked = HasChunkedEncoding(response.head);
    bool paused = false;
    auto consume = [&](std::string_view bytes) {
      response.body.Add(bytes);
      if (!paused && response.body.size() >= pause_after) {
        paused = true;
        std::this_thread::sleep_for(pause);
      }
    };
    if (response.chunked) {
      ChunkedDecoder decoder;
      std::string decoded;
      while (true) {
        std::string_view view = in_;
        ChunkedDecoder::State state = decoder.Feed(&view, &decoded);
        in_.erase(0, in_.size() - view.size());
        consume(decoded);
        decoded.clear();
        if (state == ChunkedDecoder::State::kDone) return response;
        if (state == ChunkedDecoder::State::kError) {
          error_ = "bad chunked body: " + decoder.error();
          return std::nullopt;
        }
        if (!Fill(deadline)) return std::nullopt;
      }
    }
    for (uint64_t left = length.value_or(UINT64_MAX); left > 0;) {
      if (in_.empty() && !Fill(deadline)) {
        if (!length && eof_) return response;  // close-delimited: the end is the end
        return std::nullopt;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, in_.size()));
      consume(std::string_view(in_).substr(0, take));
      in_.erase(0, take);
      left -= take;
    }
    return response;
  }

  uint64_t sent() const { return sent_.load(); }
  const std::string& error() const { return error_; }

 private:
  // The value of field `name` in `head` (names compared case-insensitively).
  static std::optional<std::string> Field(const std::string& head, std::string_view name) {
    for (size_t eol = head.find("\r\n"); eol != std::string::npos;) {
      size_t start = eol + 2;
      eol = head.find("\r\n", start);
      std::string_view line = std::string_view(head).substr(
          start, eol == std::string::npos ? std::string::npos : eol - start);
      if (line.size() > name.size() && line[name.size()] == ':' &&
          std::equal(name.begin(), name.end(), line.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        std::string_view value = line.substr(name.size() + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        return std::string(value);
      }
    }
    return std::nullopt;
  }
  static std::optional<uint64_t> ContentLength(const std::string& head) {
    std::optional<std::string> value = Field(head, "Content-Length");
    if (!value) return std::nullopt;
    return std::stoull(*value);
  }
  static bool HasChunkedEncoding(const std::string& head) {
    std::optional<std::string> value = Field(head, "Transfer-Encoding");
    return value && value->find("chunked") != std::string::npos;
  }

  // Reads what arrives into in_; false at end of stream, on an error or at `deadline`.
  bool Fill(Clock::time_point deadline) {
    while (true) {
      const size_t before = in_.size();
      RawSocket::Read result = socket_.Drain(&in_);
      if (in_.size() > before) return true;
      if (result == RawSocket::Read::kEof) {
        eof_ = true;
        error_ = "connection closed (" + std::to_string(in_.size()) + " bytes unread)";
        return false;
      }
      if (result == RawSocket::Read::kError) {
        error_ = std::string("recv: ") + std::strerror(errno);
        return false;
      }
      pollfd pfd{socket_.fd(), POLLIN, 0};
      if (poll(&pfd, 1, abuse::MillisUntil(deadline)) <= 0) {
        error_ = "timed out waiting for the response";
        return false;
      }
    }
  }

  RawSocket socket_;
  std::string in_;
  bool eof_ = false;
  std::atomic<uint64_t> sent_{0};
  std::string error_;
};

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
