// Abusive single clients against the real binary: request-smuggling attempts, peers that
// reset mid-request and mid-response, and clients that pipeline thousands of requests and
// never read the responses. Each time the node must refuse or shed the abuser the way
// docs/architecture.md says, with bounded memory, and keep serving everyone else.

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing::abuse {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using std::chrono::milliseconds;

long long Millis(Clock::duration duration) {
  return static_cast<long long>(std::chrono::duration_cast<milliseconds>(duration).count());
}

// The ListConnections rows of the node, by the client's local port.
std::map<uint16_t, v1::Connection> ConnectionsByPort(ControlClient& control) {
  std::map<uint16_t, v1::Connection> rows;
  v1::ListConnectionsResponse list;
  grpc::Status status = control.ListConnections(0, &list);
  if (!status.ok()) {
    ADD_FAILURE() << "ListConnections: " << Describe(status);
    return rows;
  }
  for (const v1::Connection& row : list.connections()) rows[PortOfPeer(row.peer())] = row;
  return rows;
}

// The state ListConnections gives the connection from local port `port` ("" if not listed).
std::string StateOf(ControlClient& control, uint16_t port) {
  std::map<uint16_t, v1::Connection> rows = ConnectionsByPort(control);
  auto it = rows.find(port);
  return it == rows.end() ? "" : it->second.state();
}

// VmRSS of process `pid` in KiB (/proc/PID/status); -1 if unreadable.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// The open-connection gauges, the admission slots and the pending requests all back at 0.
bool ConnectionGaugesAtZero(NodeProcess& node) {
  return node.MetricSum("proxynode_node_connections") == 0 &&
         node.MetricSum("proxynode_connections_active") == 0 &&
         node.MetricSum("proxynode_node_pending_requests") == 0 &&
         node.MetricSum("proxynode_pending_timers") == 0;
}

struct SmugglingCase {
  const char* name;
  std::string request;
  int status;  // what RFC 9112 asks for (and the node answers)
};

std::string Chunked(std::string_view body) {
  return "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

std::string WithCodings(std::string_view codings, std::string_view body) {
  return "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: " + std::string(codings) +
         "\r\n\r\n" + std::string(body);
}

// Ambiguous framing that a front end and a back end could read differently, and field
// syntax that RFC 9112 makes invalid because of that. Every one is refused outright.
std::vector<SmugglingCase> SmugglingCases() {
  return {
      // RFC 9112 6.1: CL with TE "ought to be handled as an error"; the node refuses it either
      // way round (CL.TE and TE.CL by field order, each with the other reading's payload).
      {"ContentLengthThenChunked",
       "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\nSMUGGLED",
       400},
      {"ChunkedThenContentLength",
       "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
       "1c\r\nGET /smuggled HTTP/1.1\r\nX: a\r\n0\r\n\r\n",
       400},
      // RFC 9112 6.3 (5): differing Content-Length values are unrecoverable: 400.
      {"DuplicateContentLengthDiffering",
       "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello",
       400},
      // RFC 9112 6.3 (4): chunked not the final coding in a request: 400 and close.
      {"ChunkedThenIdentity", WithCodings("chunked, identity", "0\r\n\r\n"), 400},
      // RFC 9112 5.2: obs-fold in a request: reject with 400 (or unfold; the node rejects).
      {"ObsFoldWithSpace", "GET / HTTP/1.1\r\nHost: test\r\nX-Folded: first\r\n second\r\n\r\n",
       400},
      {"ObsFoldWithTabHidingTransferEncoding",
       "POST / HTTP/1.1\r\nHost: test\r\nX-Folded: first\r\n\tTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      // RFC 9112 2.2: whitespace between the request line and the first field line.
      {"WhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n Host: test\r\n\r\n", 400},
      // RFC 9110 5.5: NUL (and any CTL but HTAB) in a field value: reject (or replace).
      {"NulInFieldValue", "GET / HTTP/1.1\r\nHost: test\r\nX-Nul: a\0b\r\n\r\n"s, 400},
      // RFC 9112 2.2: a bare CR is invalid (here it would end a line for a lax parser).
      {"BareCrInFieldValue",
       "POST / HTTP/1.1\r\nHost: test\r\nX-Cr: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      // RFC 9112 7.1: a chunk size must not overflow: 18 hex digits are over 64 bits.
      {"ChunkSizeOverflowingUint64", Chunked("ffffffffffffffffff\r\na\r\n0\r\n\r\n"), 400},
      // 16 hex digits fit 64 bits but are over max_body_bytes: 413 (RFC 9110 15.5.14).
      {"ChunkSizeOverMaxBody", Chunked("ffffffffffffffff\r\na\r\n0\r\n\r\n"), 413},
      // RFC 9112 5.1: whitespace between field name and colon: MUST reject with 400.
      {"SpaceBeforeColonInTransferEncoding",
       "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"TabBeforeColonInContentLength",
       "POST / HTTP/1.1\r\nHost: test\r\nContent-Length\t: 5\r\n\r\nhello", 400},
      // RFC 9112 3: exactly one SP between the parts of the request line.
      {"TwoSpacesAfterMethod", "GET  / HTTP/1.1\r\nHost: test\r\n\r\n", 400},
      {"TwoSpacesBeforeVersion", "GET /  HTTP/1.1\r\nHost: test\r\n\r\n", 400},
      // Related codings: chunked twice is ambiguous (400); a coding the node does not decode
      // before chunked is 501 (RFC 9112 6.1).
      {"ChunkedTwice",
       "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"GzipThenChunked", WithCodings("gzip, chunked", "0\r\n\r\n"), 501},
  };
}

// Every attempt gets its status with Connection: close, then the node closes the connection
// (after the response: nothing of a smuggled second request is answered), and a new
// connection is served as usual.
TEST(AbuseTest, RequestSmugglingAttemptsAreRefusedAndClosed) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  const std::vector<SmugglingCase> cases = SmugglingCases();
  double bad_requests = 0;
  double too_large = 0;
  for (const SmugglingCase& c : cases) {
    SCOPED_TRACE(c.name);
    HttpClient client = ConnectTo(node.http_port());
    ASSERT_TRUE(client.Send(c.request));
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->status, c.status);
    EXPECT_TRUE(response->ConnectionClose());
    const bool closed = client.IsClosedByPeer();
    EXPECT_TRUE(closed) << client.error();
    std::printf("smuggling %-40s -> %d%s\n", c.name, response->status,
                closed ? ", closed" : ", NOT closed");
    (c.status == 413 ? too_large : bad_requests) += 1;

    HttpClient next = ConnectTo(node.http_port());
    std::optional<HttpResponse> after = next.RoundTrip(GetRequest());
    ASSERT_TRUE(after) << next.error();
    EXPECT_EQ(after->status, 200);
  }
  EXPECT_EQ(node.MetricSum("proxynode_rejected_total", "reason=\"bad_request\""), bad_requests);
  EXPECT_EQ(node.MetricSum("proxynode_rejected_total", "reason=\"body_too_large\""), too_large);
  EXPECT_FALSE(node.WaitExit(0ms).has_value()) << "the node exited";
}

// A raw socket connected to 127.0.0.1:`port` (the test fails if it cannot connect).
RawSocket ConnectRaw(uint16_t port) {
  std::vector<RawSocket> one(1);
  ::testing::AssertionResult connected = ConnectAll(one, port, 1, 5s);
  if (!connected) ADD_FAILURE() << connected.message();
  return std::move(one[0]);
}

// Peers that reset (RST, not FIN) in each phase of an exchange: half a head, half a body,
// while the response waits on its delay (also after Connection: close, when the node reads no
// further and meets the reset only when it writes), and while a 1 MiB response is being
// written. Each time the node closes its side as a socket error and gives back its slot and
// timer; afterwards the gauges are back at 0 and the node serves as before.
TEST(AbuseTest, PeersResettingMidRequestAndMidResponse) {
  constexpr auto kDelay = 1s;  // long enough to reset while a response waits
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=1s", "--workers=2"}));
  ControlClient control(node.control_port());
  const double io_errors_before =
      node.MetricSum("proxynode_connections_closed_total", R"(reason="io_error")");

  struct ResetCase {
    const char* name;
    std::string bytes;
    const char* state;  // the node's state for the connection when the peer resets
  };
  const std::vector<ResetCase> mid_request = {
      {"HalfAHead", "GET / HTTP/1.1\r\nHost: te", "reading_head"},
      {"HalfABody",
       "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'b'),
       "reading_body"},
      {"WaitingOnTheDelay", GetRequest(), "waiting"},
      {"WaitingAfterConnectionClose", GetRequest("/", "Connection: close\r\n"), "waiting"},
  };
  for (const ResetCase& c : mid_request) {
    SCOPED_TRACE(c.name);
    RawSocket peer = ConnectRaw(node.http_port());
    const uint16_t port = peer.local_port();
    ASSERT_TRUE(peer.SendAll(c.bytes, 5s));
    EXPECT_TRUE(WaitUntil([&] { return StateOf(control, port) == c.state; }, 3s))
        << "state: " << StateOf(control, port);
    peer.Reset();
    EXPECT_TRUE(WaitUntil([&] { return StateOf(control, port).empty(); }, kDelay + 2 * kSlack))
        << "the node kept the reset connection, state " << StateOf(control, port);
  }

  {
    SCOPED_TRACE("MidResponse");
    // The largest body there is (ConfigBounds::kMaxBodyBytes; too long for a flag).
    constexpr size_t kBodyBytes = 1 << 20;
    v1::NodeConfig config;
    config.set_body(std::string(kBodyBytes, 'x'));
    grpc::Status updated = control.Update(config, {"body"});
    ASSERT_TRUE(updated.ok()) << Describe(updated);
    RawSocket peer = ConnectRaw(node.http_port());
    const uint16_t port = peer.local_port();
    // 16 MiB owed: far more than the socket buffers take, so the node blocks writing.
    std::string requests;
    for (int i = 0; i < 16; ++i) requests += GetRequest();
    ASSERT_TRUE(peer.SendAll(requests, 5s));
    // The response has begun: read a little of it, then nothing more.
    pollfd pfd{peer.fd(), POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, MillisUntil(Clock::now() + kDelay + 2 * kSlack)), 1);
    char some[1024];
    ASSERT_GT(recv(peer.fd(), some, sizeof(some), 0), 0);
    EXPECT_TRUE(WaitUntil([&] { return StateOf(control, port) == "writing"; }, 3s))
        << "state: " << StateOf(control, port);
    peer.Reset();
    EXPECT_TRUE(WaitUntil([&] { return StateOf(control, port).empty(); }, 2 * kSlack))
        << "the node kept the reset connection, state " << StateOf(control, port);
  }

  EXPECT_TRUE(WaitUntil([&] { return ConnectionGaugesAtZero(node); }, 5s))
      << "connections, slots or pending timers did not go back to 0";
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total", R"(reason="io_error")") -
                io_errors_before,
            5.0);
  HttpClient next = ConnectTo(node.http_port());
  std::optional<HttpResponse> after = next.RoundTrip(GetRequest(), false, kDelay + 2 * kSlack);
  ASSERT_TRUE(after) << next.error();
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body.size(), size_t{1} << 20);
  EXPECT_FALSE(node.WaitExit(0ms).has_value()) << "the node exited";
}

// Clients that pipeline thousands of requests for a 64 KiB body and never read a byte. The
// node parses at most 128 requests ahead of its responses (Connection::kMaxPipelineDepth),
// buffers at most 256 KiB of output (kMaxBufferedOutput, plus the response that crosses it)
// and 64 KiB of input per connection; once the socket buffers are full it stops reading the
// socket, so the rest of the requests wait in the kernel (backpressure) and its memory stays
// bounded. The connection sits in state "writing" until idle_timeout passes without a byte
// written, then it is closed as a socket error (Connection::OnTimeoutTimer, kWriting).
// Everyone else is served meanwhile.
TEST(AbuseTest, ClientsThatNeverReadHoldBoundedMemoryUntilTheIdleTimeout) {
  constexpr size_t kBodyBytes = 64 * 1024;
  constexpr size_t kHogs = 4;
  constexpr size_t kRequestsPerHog = 4000;
  constexpr auto kIdleTimeout = 5s;
  // Parsed requests beyond the responses begun: the pipeline depth plus one output round.
  constexpr uint64_t kMaxParsedAhead = 128 + (256 * 1024) / kBodyBytes + 1;
  // What the hogs ask for is 4 x 4,000 x 64 KiB = 1 GiB; 16 MiB of growth is ~1.5% of it
  // (bounded buffers need ~0.7 MiB per hog; measured +2.7 MiB for the four). Under the
  // sanitizers RSS also counts memory already freed: ASan's quarantine and TSan's shadow keep
  // the output buffer the node regrows in every write round (~8 MiB per hog measured under
  // ASan), so there the bound only tells bounded from unbounded.
  constexpr long kRssGrowthBoundKib = (kSanitized ? 128 : 16) * 1024;
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2", "--idle_timeout=5s",
                          "--body=" + std::string(kBodyBytes, 'x')}));
  ControlClient control(node.control_port());

  // Warm-up: a client that does read takes the same path once, so buffer growth, the pool and
  // the allocator's arenas are in the baseline; so are the control plane's threads and
  // buffers, which the first ListConnections call sets up.
  ConnectionsByPort(control);
  {
    HttpClient reader = ConnectTo(node.http_port());
    std::string requests;
    for (int i = 0; i < 300; ++i) requests += GetRequest();
    ASSERT_TRUE(reader.Send(requests));
    for (int i = 0; i < 300; ++i) {
      std::optional<HttpResponse> response = reader.ReadResponse();
      ASSERT_TRUE(response) << "warm-up response " << i << ": " << reader.error();
      ASSERT_EQ(response->status, 200);
    }
  }
  const long rss_before = RssKib(node.pid());
  ASSERT_GT(rss_before, 0);

  // 100 bytes each.
  const std::string request =
      "GET /hog HTTP/1.1\r\nHost: test\r\nX-Pad: " + std::string(58, 'p') + "\r\n\r\n";
  std::string pipeline;
  pipeline.reserve(request.size() * kRequestsPerHog);
  for (size_t i = 0; i < kRequestsPerHog; ++i) pipeline += request;
  std::vector<RawSocket> hogs(kHogs);
  ASSERT_TRUE(ConnectAll(hogs, node.http_port(), kHogs, 5s));
  std::vector<uint16_t> ports;
  std::vector<size_t> sent(kHogs, 0);
  const auto hogs_started = Clock::now();
  for (size_t i = 0; i < kHogs; ++i) {
    ports.push_back(hogs[i].local_port());
    // What the kernel takes, until half a second passes without progress.
    std::string_view rest = pipeline;
    while (!rest.empty()) {
      ssize_t n = hogs[i].SendSome(rest);
      ASSERT_GE(n, 0) << "hog " << i << ": " << std::strerror(errno);
      if (n == 0) {
        pollfd pfd{hogs[i].fd(), POLLOUT, 0};
        if (poll(&pfd, 1, 500) <= 0) break;
        continue;
      }
      rest.remove_prefix(static_cast<size_t>(n));
      sent[i] += static_cast<size_t>(n);
    }
  }

  // Every hog blocked: in state "writing", and nothing moves for a second.
  auto all_writing = [&](std::map<uint16_t, v1::Connection>* rows) {
    *rows = ConnectionsByPort(control);
    for (uint16_t port : ports) {
      auto it = rows->find(port);
      if (it == rows->end() || it->second.state() != "writing") return false;
    }
    return true;
  };
  std::map<uint16_t, v1::Connection> first;
  std::map<uint16_t, v1::Connection> second;
  ASSERT_TRUE(WaitUntil([&] { return all_writing(&first); }, 3s, 50ms))
      << "not every hog is blocked writing";
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(all_writing(&second)) << "a hog left state writing (or was closed) too early";
  for (size_t i = 0; i < kHogs; ++i) {
    SCOPED_TRACE("hog " + std::to_string(i));
    const v1::Connection& before = first[ports[i]];
    const v1::Connection& now = second[ports[i]];
    EXPECT_EQ(now.bytes_out(), before.bytes_out()) << "the node still writes";
    EXPECT_EQ(now.bytes_in(), before.bytes_in()) << "the node still reads";
    EXPECT_EQ(now.requests(), before.requests()) << "the node still parses";
    EXPECT_LT(now.bytes_in(), sent[i]) << "the node read every request: no backpressure";
    EXPECT_LE(now.requests(), now.bytes_out() / kBodyBytes + 1 + kMaxParsedAhead)
        << "more requests parsed ahead of the responses than the pipeline depth allows";
    std::printf(
        "hog %zu: sent %zu bytes (%zu requests); node read %llu bytes, parsed %llu requests, "
        "wrote %llu bytes, state %s\n",
        i, sent[i], sent[i] / request.size(), static_cast<unsigned long long>(now.bytes_in()),
        static_cast<unsigned long long>(now.requests()),
        static_cast<unsigned long long>(now.bytes_out()), now.state().c_str());
  }

  // Everyone else is served as usual meanwhile.
  for (int i = 0; i < 10; ++i) {
    const auto start = Clock::now();
    HttpClient client = ConnectTo(node.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest(), false, 5s);
    ASSERT_TRUE(response) << "ordinary request " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "ordinary request " << i;
    EXPECT_EQ(response->body.size(), kBodyBytes) << "ordinary request " << i;
    EXPECT_LE(Millis(Clock::now() - start), Millis(kSlack)) << "ordinary request " << i;
  }

  const long rss_blocked = RssKib(node.pid());
  std::printf("node VmRSS: %ld KiB before, %ld KiB with %zu hogs blocked (%+ld KiB, bound %ld)\n",
              rss_before, rss_blocked, kHogs, rss_blocked - rss_before, kRssGrowthBoundKib);
  EXPECT_LT(rss_blocked - rss_before, kRssGrowthBoundKib);

  // Closed once idle_timeout passed without progress: not before, and not much later.
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::map<uint16_t, v1::Connection> rows = ConnectionsByPort(control);
        for (uint16_t port : ports) {
          if (rows.count(port) != 0) return false;
        }
        return true;
      },
      kIdleTimeout + 2 * kSlack + 2s, 100ms))
      << "the hogs were not closed after the idle timeout";
  const long long closed_after = Millis(Clock::now() - hogs_started);
  EXPECT_GE(closed_after, Millis(kIdleTimeout) - 100);
  std::printf("hogs closed %lld ms after they started (idle_timeout %lld ms)\n", closed_after,
              Millis(kIdleTimeout));
  EXPECT_GE(node.MetricSum("proxynode_connections_closed_total", R"(reason="io_error")"),
            static_cast<double>(kHogs));
  for (size_t i = 0; i < kHogs; ++i) {
    // The client sees the end: the responses the kernel holds, then a reset (the node closed
    // with requests unread) or end of stream.
    std::string ignored;
    RawSocket::Read end = hogs[i].ReadToEnd(&ignored, Clock::now() + 5s);
    const int error = errno;
    EXPECT_TRUE(end == RawSocket::Read::kEof ||
                (end == RawSocket::Read::kError && error == ECONNRESET))
        << "hog " << i << ": " << (end == RawSocket::Read::kAgain ? "still open" : "error ")
        << std::strerror(error);
  }
  hogs.clear();
  EXPECT_TRUE(WaitUntil([&] { return ConnectionGaugesAtZero(node); }, 5s))
      << "connections did not go back to 0";
  std::printf("node VmRSS after the hogs closed: %ld KiB\n", RssKib(node.pid()));
  EXPECT_FALSE(node.WaitExit(0ms).has_value()) << "the node exited";
}

}  // namespace
}  // namespace proxynode::testing::abuse
