// A client that goes away while its proxied request waits on the upstream cancels that
// request, as nginx (proxy_ignore_client_abort off) and Envoy do: the upstream sees its
// connection closed at once, nothing goes back to the pool, and the upstream's stats count a
// cancel, not a timeout. A half-close (FIN) counts as going away: it cannot be told from a
// close.

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The bound; sanitizer builds run the node several times slower.
constexpr auto kCancelBound = abuse::kSanitized ? 500ms : 100ms;

class ProxyCancelTest : public ProxyFixture {
 protected:
  // An upstream that holds every answer for 5 s, behind the one route "/" with a 1 s
  // first-byte timeout: a request the node kept waiting on would end as a timeout.
  void SetUp() override {
    UpstreamReply held;
    held.first_byte_delay = 5s;
    upstream_.SetDefaultReply(held);
    ASSERT_TRUE(upstream_.Start());
    ASSERT_TRUE(StartNode({"--workers=2", "--delay=0s"}, {}));
    v1::Route route = ProxyRoute("/", {upstream_.address()});
    *route.mutable_first_byte_timeout() = Millis(1000);
    ASSERT_TRUE(SetRoutes({route}));
  }

  // How long after `gone` the upstream saw its held connection closed (nullopt: not in 2 s).
  std::optional<std::chrono::milliseconds> UpstreamClosedAfter(Clock::time_point gone) {
    if (!WaitUntil([&] { return !upstream_.ClosesWhileHolding().empty(); }, 2s, 1ms)) {
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        upstream_.ClosesWhileHolding().front() - gone);
  }

  // After the first-byte timeout would have passed: one cancel, no error of any kind, nothing
  // outstanding, and the next request gets an answer on a fresh upstream connection.
  void ExpectCountedAsCancelOnly() {
    std::this_thread::sleep_for(1200ms);
    v1::Stats stats = Stats();
    const v1::UpstreamStats* upstream = FindUpstream(stats, upstream_.address());
    ASSERT_NE(upstream, nullptr) << stats.DebugString();
    EXPECT_EQ(upstream->cancelled(), 1u);
    for (const auto& [reason, count] : upstream->errors()) {
      EXPECT_EQ(count, 0u) << reason;
    }
    EXPECT_EQ(upstream->outstanding(), 0);
    EXPECT_EQ(upstream->idle_connections(), 0) << "a cancelled connection went back to the pool";

    UpstreamReply quick;
    upstream_.SetDefaultReply(quick);
    HttpClient next = ConnectTo(proxy_.http_port());
    std::optional<HttpResponse> response = next.RoundTrip(GetRequest("/next"));
    ASSERT_TRUE(response) << next.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(upstream_.accepted_connections(), 2u);
  }

  UpstreamServer upstream_;
};

TEST_F(ProxyCancelTest, AClientFinCancelsTheUpstreamRequestWithin100ms) {
  HttpClient client = ConnectTo(proxy_.http_port());
  ASSERT_TRUE(client.Send(GetRequest("/held")));
  ASSERT_TRUE(upstream_.WaitForRequests(1, 5s));

  const Clock::time_point gone = Clock::now();
  client.ShutdownWrite();
  std::optional<std::chrono::milliseconds> closed_after = UpstreamClosedAfter(gone);
  ASSERT_TRUE(closed_after) << "the upstream still holds the request 2 s after the client's FIN";
  EXPECT_LT(*closed_after, kCancelBound);
  // The client's connection ends with nothing sent: the request was given up.
  EXPECT_TRUE(client.IsClosedByPeer(2s)) << client.error();
  ExpectCountedAsCancelOnly();
}

TEST_F(ProxyCancelTest, AClientResetCancelsTheUpstreamRequestWithin100ms) {
  abuse::RawSocket client;
  ASSERT_TRUE(client.StartConnect(proxy_.http_port()));
  ASSERT_TRUE(client.SendAll(GetRequest("/held"), 5s));
  ASSERT_TRUE(upstream_.WaitForRequests(1, 5s));

  const Clock::time_point gone = Clock::now();
  client.Reset();
  std::optional<std::chrono::milliseconds> closed_after = UpstreamClosedAfter(gone);
  ASSERT_TRUE(closed_after) << "the upstream still holds the request 2 s after the client's RST";
  EXPECT_LT(*closed_after, kCancelBound);
  ExpectCountedAsCancelOnly();
}

}  // namespace
}  // namespace proxynode::testing
