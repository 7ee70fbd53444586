// Abusive numbers of connections against the real binary: thousands of slowloris connections
// that never finish a request head, and a flood of connections past max_connections. The node
// must shed the abusers the way docs/architecture.md (Limits) says — 408 at header_timeout,
// 503 with Connection: close over the limit — while ordinary clients keep being served.

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/fd_limit.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing::abuse {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

long long Millis(Clock::duration duration) {
  return static_cast<long long>(std::chrono::duration_cast<milliseconds>(duration).count());
}

// Descriptors kept back from the slowloris for everything else this process opens: gtest,
// the node's pipe, /metrics fetches, the ordinary clients.
constexpr size_t kFdReserve = 500;
// 5,000 as the hardening issue asks; 2,000 under TSan, where the node takes ~5x longer per
// event and 5,000 first bytes at once delay ordinary clients by seconds on a busy machine.
constexpr size_t kMaxSlowloris = kThreadSanitizer ? 2000 : 5000;

// How many slowloris connections this process can hold: min(kMaxSlowloris, soft fd limit
// - 500). Every connection costs one descriptor here and one in the node (the node raises its
// own soft limit to the hard one at start-up, so it fits whatever fits here). The soft limit
// is raised to the hard one first, as scripts/test.sh does with `ulimit -n`.
size_t SlowlorisCount() { return ConnectionBudget(kMaxSlowloris, kFdReserve); }

double Gauge(NodeProcess& node, std::string_view name) { return node.MetricSum(name); }

// One ordinary request made while the abuse goes on.
struct NormalSample {
  bool fresh_connection = false;
  int status = 0;  // 0: no response (see error)
  milliseconds latency{0};
  std::string error;
};

// Ordinary clients beside the abuse, on a thread of their own until Stop(): per round one GET
// on a keep-alive connection and one on a new connection (connect time counted in its
// latency, as the accept path is what a connection flood could starve).
class NormalTraffic {
 public:
  explicit NormalTraffic(uint16_t port) : port_(port), thread_([this] { Run(); }) {}
  ~NormalTraffic() { Stop(); }
  NormalTraffic(const NormalTraffic&) = delete;
  NormalTraffic& operator=(const NormalTraffic&) = delete;

  // Stops and joins; the samples are read only after the thread ended.
  std::vector<NormalSample> Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return samples_;
  }

 private:
  void Run() {
    HttpClient kept;
    while (!stop_.load()) {
      for (bool fresh : {false, true}) {
        HttpClient new_client;
        HttpClient& client = fresh ? new_client : kept;
        NormalSample sample;
        sample.fresh_connection = fresh;
        const auto start = Clock::now();
        ::testing::AssertionResult connected = ::testing::AssertionSuccess();
        if (!client.connected()) connected = client.Connect(port_, 10s);
        if (!connected) {
          sample.error = connected.message();
        } else if (std::optional<HttpResponse> response =
                       client.RoundTrip(GetRequest(), false, 10s)) {
          sample.status = response->status;
        } else {
          sample.error = client.error();
          client.Close();  // reconnect next round
        }
        sample.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
        samples_.push_back(std::move(sample));
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  const uint16_t port_;
  std::atomic<bool> stop_{false};
  std::vector<NormalSample> samples_;  // written by the thread only
  std::thread thread_;                 // last: starts once the members above exist
};

// Every ordinary request got 200 within `bound`.
void ExpectAllServed(const std::vector<NormalSample>& samples, milliseconds bound) {
  EXPECT_GE(samples.size(), 4u) << "too few ordinary requests were made";
  milliseconds worst{0};
  for (size_t i = 0; i < samples.size(); ++i) {
    const NormalSample& sample = samples[i];
    worst = std::max(worst, sample.latency);
    EXPECT_EQ(sample.status, 200) << "ordinary request " << i
                                  << (sample.fresh_connection ? " (new connection)" : "") << ": "
                                  << sample.error;
    EXPECT_LE(sample.latency.count(), bound.count())
        << "ordinary request " << i << (sample.fresh_connection ? " (new connection)" : "");
  }
  std::printf("ordinary clients: %zu requests, slowest %lld ms (bound %lld ms)\n", samples.size(),
              static_cast<long long>(worst.count()), static_cast<long long>(bound.count()));
}

// Thousands of connections each send one byte of a request head per second and never finish
// it. header_timeout runs from the first byte of a head (bytes trickling in do not extend it),
// so each gets 408 with Connection: close and a closed connection header_timeout after its
// first byte, while GETs from ordinary clients keep getting 200 after the configured delay.
TEST(AbuseSlowlorisTest, SlowHeadsGet408AtTheHeaderTimeoutWhileOthersAreServed) {
  const size_t count = SlowlorisCount();
  if (count < 100) GTEST_SKIP() << "the fd limit leaves room for only " << count << " connections";
  constexpr auto kHeaderTimeout = 3s;
  constexpr auto kDelay = 100ms;
  constexpr auto kDripInterval = 1s;
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--header_timeout=3s", "--delay=100ms", "--workers=2"}));

  std::vector<RawSocket> slow(count);
  ASSERT_TRUE(ConnectAll(slow, node.http_port(), 250, 30s));
  std::printf("slowloris: %zu connections open\n", count);
  NormalTraffic normal(node.http_port());

  // Never completes: the head would need its blank line, which is never sent.
  const std::string head = "GET /slowloris HTTP/1.1\r\nHost: test\r\nX-Slow: ";
  struct Slow {
    size_t sent = 0;
    Clock::time_point first_byte{};
    Clock::time_point answered{};  // the first response byte arrived
    std::string received;
    bool ended = false;
    int error = 0;  // errno of a failed read
  };
  std::vector<Slow> state(count);
  size_t open = count;
  const auto deadline = Clock::now() + kHeaderTimeout + 2 * kSlack + 5s;
  auto next_drip = Clock::now();
  std::vector<pollfd> fds;
  std::vector<size_t> index;
  while (open > 0 && Clock::now() < deadline) {
    if (Clock::now() >= next_drip) {
      for (size_t i = 0; i < count; ++i) {
        Slow& s = state[i];
        if (s.ended || !s.received.empty()) continue;  // answered: stop writing
        const char byte = s.sent < head.size() ? head[s.sent] : 'a';
        if (slow[i].SendSome(std::string_view(&byte, 1)) == 1) {
          if (s.sent == 0) s.first_byte = Clock::now();
          ++s.sent;
        }
      }
      next_drip += kDripInterval;
    }
    fds.clear();
    index.clear();
    for (size_t i = 0; i < count; ++i) {
      if (state[i].ended) continue;
      fds.push_back(pollfd{slow[i].fd(), POLLIN, 0});
      index.push_back(i);
    }
    const int n = poll(fds.data(), fds.size(), MillisUntil(std::min(next_drip, deadline)));
    if (n <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Slow& s = state[index[k]];
      const bool had_bytes = !s.received.empty();
      RawSocket::Read result = slow[index[k]].Drain(&s.received);
      if (!had_bytes && !s.received.empty()) s.answered = Clock::now();
      if (result == RawSocket::Read::kAgain) continue;
      if (result == RawSocket::Read::kError) s.error = errno;
      s.ended = true;
      --open;
      slow[index[k]].Close();
    }
  }
  std::vector<NormalSample> samples = normal.Stop();

  EXPECT_EQ(open, 0u) << "slowloris connections still open " << Millis(deadline - Clock::now())
                      << " ms before the deadline";
  size_t timed_out = 0;
  size_t reported = 0;
  long long earliest = -1;
  long long latest = -1;
  for (size_t i = 0; i < count; ++i) {
    const Slow& s = state[i];
    const bool answered = s.answered != Clock::time_point{};
    const long long after = answered ? Millis(s.answered - s.first_byte) : -1;
    // Not before header_timeout from the first byte (the node starts its clock on reading it),
    // and not long after.
    const bool ok = s.ended && s.error == 0 && s.sent > 0 && StatusOf(s.received) == 408 &&
                    HasFieldLine(s.received, "Connection: close") && answered &&
                    after >= Millis(kHeaderTimeout) - 50 &&
                    after <= Millis(kHeaderTimeout + 2 * kSlack);
    if (ok) {
      ++timed_out;
      earliest = earliest < 0 ? after : std::min(earliest, after);
      latest = std::max(latest, after);
    } else if (reported++ < 5) {
      ADD_FAILURE() << "slowloris connection " << i << ": ended " << s.ended << ", errno "
                    << s.error << ", " << s.sent << " bytes sent, answer after " << after
                    << " ms: " << s.received.substr(0, 200);
    }
  }
  EXPECT_EQ(timed_out, count);
  std::printf("slowloris: %zu of %zu got 408 + close, %lld..%lld ms after their first byte\n",
              timed_out, count, earliest, latest);
  EXPECT_EQ(node.MetricSum("proxynode_rejected_total", "reason=\"header_timeout\""),
            static_cast<double>(count));

  ExpectAllServed(samples, std::chrono::duration_cast<milliseconds>(kDelay + kSlack));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return Gauge(node, "proxynode_node_connections") == 0 &&
               Gauge(node, "proxynode_connections_active") == 0;
      },
      5s))
      << "connections did not settle back to 0";
  EXPECT_FALSE(node.WaitExit(0ms).has_value()) << "the node exited";
}

// max_connections=200 and 1,000 new connections on top of 10 that hold slots: the excess
// gets 503 (Connection: close, Retry-After: 1) at accept, before it sends anything, and is
// closed; admitted ones and the 10 keep working; once the flood is gone every slot is usable
// again, exactly up to the limit.
TEST(AbuseFloodTest, ConnectionsPastMaxConnectionsGet503AndTheLimitRecovers) {
  constexpr size_t kMaxConnections = 200;
  constexpr size_t kHeld = 10;
  constexpr size_t kFlood = 1000;
  constexpr size_t kAdmitted = kMaxConnections - kHeld;
  constexpr size_t kRejected = kFlood - kAdmitted;
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--max_connections=200", "--delay=0s", "--workers=2"}));

  // Connections that completed a request certainly hold their slots.
  std::vector<HttpClient> held;
  for (size_t i = 0; i < kHeld; ++i) {
    held.push_back(ConnectTo(node.http_port()));
    std::optional<HttpResponse> response = held.back().RoundTrip(GetRequest());
    ASSERT_TRUE(response) << held.back().error();
    ASSERT_EQ(response->status, 200);
  }

  std::vector<RawSocket> flood(kFlood);
  ASSERT_TRUE(ConnectAll(flood, node.http_port(), 250, 20s));
  std::vector<std::string> received(kFlood);
  std::vector<bool> ended(kFlood, false);
  size_t ended_count = 0;
  // Reads from every flood connection until `enough` have ended or `until` passes.
  auto read_flood = [&](size_t enough, Clock::time_point until) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    while (ended_count < enough && Clock::now() < until) {
      fds.clear();
      index.clear();
      for (size_t i = 0; i < kFlood; ++i) {
        if (ended[i]) continue;
        fds.push_back(pollfd{flood[i].fd(), POLLIN, 0});
        index.push_back(i);
      }
      if (poll(fds.data(), fds.size(), MillisUntil(until)) <= 0) continue;
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        const size_t i = index[k];
        if (flood[i].Drain(&received[i]) == RawSocket::Read::kAgain) continue;
        ended[i] = true;
        ++ended_count;
        flood[i].Close();
      }
    }
  };
  read_flood(kRejected, Clock::now() + 5s + 2 * kSlack);
  // A moment more: nothing ends or arrives unasked on an admitted connection.
  read_flood(kFlood, Clock::now() + 300ms);

  size_t unavailable = 0;
  size_t reported = 0;
  for (size_t i = 0; i < kFlood; ++i) {
    if (!ended[i]) {
      EXPECT_EQ(received[i], "") << "admitted flood connection " << i << " got bytes unasked";
      continue;
    }
    if (StatusOf(received[i]) == 503 && HasFieldLine(received[i], "Connection: close") &&
        HasFieldLine(received[i], "Retry-After: 1")) {
      ++unavailable;
    } else if (reported++ < 5) {
      ADD_FAILURE() << "flood connection " << i << " ended with: " << received[i].substr(0, 200);
    }
  }
  EXPECT_EQ(ended_count, kRejected);
  EXPECT_EQ(unavailable, kRejected);
  std::printf("flood: %zu connections over %zu held, limit %zu: %zu got 503 + close\n", kFlood,
              kHeld, kMaxConnections, unavailable);
  EXPECT_EQ(node.MetricSum("proxynode_rejected_total", "reason=\"max_connections\""),
            static_cast<double>(kRejected));
  EXPECT_EQ(Gauge(node, "proxynode_node_connections"), static_cast<double>(kMaxConnections));

  // The connections holding slots keep working, the old ones and the admitted flood alike.
  for (size_t i = 0; i < kHeld; ++i) {
    std::optional<HttpResponse> response = held[i].RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "held connection " << i << ": " << held[i].error();
    EXPECT_EQ(response->status, 200) << "held connection " << i;
  }
  size_t admitted_ok = 0;
  for (size_t i = 0; i < kFlood; ++i) {
    if (ended[i]) continue;
    std::string answer;
    if (!flood[i].SendAll("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", 5s)) {
      ADD_FAILURE() << "admitted flood connection " << i << ": send failed";
      continue;
    }
    RawSocket::Read end = flood[i].ReadToEnd(&answer, Clock::now() + 5s);
    EXPECT_EQ(end, RawSocket::Read::kEof) << "admitted flood connection " << i;
    EXPECT_EQ(StatusOf(answer), 200) << "admitted flood connection " << i << ": " << answer;
    if (StatusOf(answer) == 200) ++admitted_ok;
  }
  EXPECT_EQ(admitted_ok, kAdmitted);

  // The flood goes away: the slots come back, up to the limit and not one more.
  flood.clear();
  EXPECT_TRUE(WaitUntil(
      [&] { return Gauge(node, "proxynode_node_connections") == static_cast<double>(kHeld); }, 5s))
      << "the connection gauge did not settle at the held connections";
  std::vector<HttpClient> refill;
  for (size_t i = 0; i < kAdmitted; ++i) {
    refill.push_back(ConnectTo(node.http_port()));
    std::optional<HttpResponse> response = refill.back().RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "new connection " << i << ": " << refill.back().error();
    ASSERT_EQ(response->status, 200) << "new connection " << i;
  }
  HttpClient extra = ConnectTo(node.http_port());
  ASSERT_TRUE(extra.Send(GetRequest()));
  std::optional<HttpResponse> rejected = extra.ReadResponse();
  ASSERT_TRUE(rejected) << extra.error();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_TRUE(extra.IsClosedByPeer()) << extra.error();
  EXPECT_FALSE(node.WaitExit(0ms).has_value()) << "the node exited";
}

}  // namespace
}  // namespace proxynode::testing::abuse
