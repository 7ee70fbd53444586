// What the control plane reports about traffic: GetStats counters and latency, the WatchStats
// stream with its rates, and ListConnections rows matched against the sockets the test holds.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

// A blocking keep-alive connection that knows its own local port (HttpClient keeps its socket
// to itself). Every send and receive times out after 5 s.
class PortedConnection {
 public:
  PortedConnection() = default;
  PortedConnection(PortedConnection&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), local_port_(other.local_port_) {}
  PortedConnection(const PortedConnection&) = delete;
  PortedConnection& operator=(const PortedConnection&) = delete;
  ~PortedConnection() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }

  ::testing::AssertionResult Connect(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
    }
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      return ::testing::AssertionFailure() << "connect: " << std::strerror(errno);
    }
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
      return ::testing::AssertionFailure() << "getsockname: " << std::strerror(errno);
    }
    local_port_ = ntohs(local.sin_port);
    return ::testing::AssertionSuccess();
  }

  // One GET and its whole response (head and Content-Length body); the status line's code.
  ::testing::AssertionResult Get(int* status) {
    std::string request = GetRequest();
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return ::testing::AssertionFailure() << "send: " << std::strerror(errno);
    }
    std::string in;
    size_t head_end = std::string::npos;
    size_t length = 0;
    while (true) {
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        size_t at = in.find("Content-Length: ");
        if (at == std::string::npos || at > head_end) {
          return ::testing::AssertionFailure() << "no Content-Length: " << in;
        }
        length = std::stoul(in.substr(at + 16));
      }
      if (head_end != std::string::npos && in.size() >= head_end + 4 + length) {
        break;
      }
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        return ::testing::AssertionFailure()
               << "recv: " << (n == 0 ? "end of stream" : std::strerror(errno));
      }
      in.append(chunk, static_cast<size_t>(n));
    }
    *status = std::stoi(in.substr(9, 3));
    return ::testing::AssertionSuccess();
  }

  uint16_t local_port() const { return local_port_; }

 private:
  int fd_ = -1;
  uint16_t local_port_ = 0;
};

// The port of "host:port".
uint16_t PortOf(const std::string& peer) {
  size_t colon = peer.rfind(':');
  if (colon == std::string::npos) {
    return 0;
  }
  return static_cast<uint16_t>(std::stoul(peer.substr(colon + 1)));
}

TEST(ControlConnectionsTest, ListConnectionsShowsExactlyTheConnectionsWeHold) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  ControlClient control(node.control_port());
  constexpr int kConnections = 5;
  std::vector<PortedConnection> held;
  std::vector<uint16_t> ports;  // in the order the connections were made
  for (int i = 0; i < kConnections; ++i) {
    PortedConnection& connection = held.emplace_back();
    ASSERT_TRUE(connection.Connect(node.http_port()));
    int status = 0;
    ASSERT_TRUE(connection.Get(&status));
    ASSERT_EQ(status, 200);
    ports.push_back(connection.local_port());
  }

  v1::ListConnectionsResponse list;
  grpc::Status status = control.ListConnections(0, &list);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(list.total(), static_cast<uint32_t>(kConnections));
  ASSERT_EQ(list.connections_size(), kConnections) << list.ShortDebugString();
  std::set<uint16_t> ours(ports.begin(), ports.end());
  std::set<uint16_t> seen;
  std::set<uint64_t> ids;
  for (const v1::Connection& row : list.connections()) {
    SCOPED_TRACE(row.ShortDebugString());
    EXPECT_EQ(row.peer().rfind("127.0.0.1:", 0), 0u);
    uint16_t port = PortOf(row.peer());
    EXPECT_TRUE(ours.count(port) == 1) << "not one of our local ports";
    seen.insert(port);
    ids.insert(row.id());
    EXPECT_EQ(row.requests(), 1u);
    EXPECT_EQ(row.state(), "idle");
    EXPECT_GE(row.worker(), 0);
    EXPECT_LT(row.worker(), 2);
    EXPECT_GT(row.bytes_in(), 0u);
    EXPECT_GT(row.bytes_out(), 0u);
    EXPECT_GE(ToNanos(row.age()), 0);
  }
  EXPECT_EQ(seen, ours) << "every one of our connections appears once";
  EXPECT_EQ(ids.size(), static_cast<size_t>(kConnections)) << "ids are unique";

  // Oldest first. (Not necessarily the order the test connected in: each worker stamps an
  // accept with its loop's clock, read once per wakeup, and two workers' wakeups interleave.)
  for (int i = 1; i < list.connections_size(); ++i) {
    EXPECT_GE(ToNanos(list.connections(i - 1).age()), ToNanos(list.connections(i).age()));
  }
  // limit = 2: the same two oldest rows, and still the total.
  v1::ListConnectionsResponse limited;
  status = control.ListConnections(2, &limited);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(limited.total(), static_cast<uint32_t>(kConnections));
  ASSERT_EQ(limited.connections_size(), 2);
  EXPECT_EQ(limited.connections(0).id(), list.connections(0).id());
  EXPECT_EQ(limited.connections(1).id(), list.connections(1).id());
}

TEST(ControlStatsTest, GetStatsCountsTheRequestsServed) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=1ms", "--workers=2"}));
  ControlClient control(node.control_port());
  constexpr uint64_t kRequests = 20;
  HttpClient client = ConnectTo(node.http_port());
  for (uint64_t i = 0; i < kRequests; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << client.error();
    ASSERT_EQ(response->status, 200);
  }

  v1::Stats stats;
  grpc::Status status = control.GetStats(&stats);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_GE(stats.total().requests(), kRequests);
  EXPECT_GE(stats.total().responses_2xx(), kRequests);
  EXPECT_GE(stats.request_latency().count(), kRequests);
  EXPECT_GE(stats.total().connections_accepted(), 1u);
  EXPECT_EQ(stats.total().connections_active(), 1);
  EXPECT_EQ(stats.workers(), 2u);
  EXPECT_EQ(stats.per_worker_size(), 2);
  EXPECT_EQ(stats.config_version(), 1u);
  EXPECT_GT(ToNanos(stats.uptime()), 0);
  EXPECT_GT(stats.fd_soft_limit(), 0u);
  EXPECT_GE(stats.fd_hard_limit(), stats.fd_soft_limit());
  EXPECT_EQ(stats.requests_per_second(), 0.0);  // rates are WatchStats only
  // Each request waited its 1 ms delay.
  EXPECT_GE(ToNanos(stats.request_latency().p50()), 1'000'000);
}

// EPOLLEXCLUSIVE alone gives a connection to whichever worker the kernel wakes, often the
// same one; a worker over its share of the node's connections (plus 3%, at least 2) stops
// accepting until the others catch up (dataplane/server/accept_share.h).
TEST(ControlStatsTest, ConnectionsSpreadEvenlyOverTheWorkers) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  ControlClient control(node.control_port());
  constexpr int kConnections = 40;
  std::vector<HttpClient> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(ConnectTo(node.http_port()));
    std::optional<HttpResponse> response = clients.back().RoundTrip(GetRequest());
    ASSERT_TRUE(response) << clients.back().error();
    ASSERT_EQ(response->status, 200);
  }
  v1::Stats stats;
  grpc::Status status = control.GetStats(&stats);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(stats.per_worker_size(), 2);
  const int64_t first = stats.per_worker(0).counters().connections_active();
  const int64_t second = stats.per_worker(1).counters().connections_active();
  EXPECT_EQ(first + second, kConnections);
  // Each stops at its share + 2 (of the total it saw then), so they end at most 6 apart.
  EXPECT_LE(std::abs(first - second), 6) << first << " / " << second;
}

TEST(ControlStatsTest, WatchStatsStreamsRatesWhileLoadRuns) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=5ms", "--workers=2"}));
  ControlClient control(node.control_port());

  // A small steady load: one keep-alive client in a loop, about 150 requests a second.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> served{0};
  std::atomic<bool> load_failed{false};
  std::thread load([&] {
    HttpClient client;
    if (!client.Connect(node.http_port())) {
      load_failed = true;
      return;
    }
    while (!stop.load()) {
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
      if (!response || response->status != 200) {
        load_failed = true;
        return;
      }
      served.fetch_add(1);
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return served.load() > 0 || load_failed.load(); }, 5s));

  std::vector<v1::Stats> messages;
  grpc::Status status = control.WatchStats(Millis(200), 4, 3s, &messages);
  stop = true;
  load.join();
  EXPECT_FALSE(load_failed.load());
  ASSERT_TRUE(status.ok()) << Describe(status) << " after " << messages.size() << " messages";
  ASSERT_GE(messages.size(), 3u);
  // The first message has no interval behind it; every later one has a rate.
  for (size_t i = 1; i < messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    EXPECT_GT(messages[i].requests_per_second(), 0.0);
    EXPECT_GE(messages[i].total().requests(), messages[i - 1].total().requests());
    EXPECT_GT(ToNanos(messages[i].uptime()), ToNanos(messages[i - 1].uptime()));
    // Timer lateness over the interval: exactly the responses delayed since the last message.
    EXPECT_TRUE(messages[i].has_interval_timer_lateness());
    EXPECT_EQ(messages[i].interval_timer_lateness().count(),
              messages[i].timer_lateness().count() - messages[i - 1].timer_lateness().count());
    EXPECT_GT(messages[i].interval_timer_lateness().count(), 0u);
    // Request latency too: the requests answered since the last message.
    EXPECT_EQ(messages[i].interval_request_latency().count(),
              messages[i].request_latency().count() - messages[i - 1].request_latency().count());
    EXPECT_GT(messages[i].interval_request_latency().count(), 0u);
    uint64_t per_worker = 0;
    for (const v1::WorkerStats& worker : messages[i].per_worker()) {
      per_worker += worker.interval_timer_lateness().count();
      EXPECT_GE(worker.timer_lateness().count(), worker.interval_timer_lateness().count());
    }
    EXPECT_EQ(per_worker, messages[i].interval_timer_lateness().count());
  }
  EXPECT_FALSE(messages[0].has_interval_timer_lateness());
  EXPECT_FALSE(messages[0].has_interval_request_latency());
}

TEST(ControlStatsTest, WatchStatsRefusesAnIntervalUnder100ms) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  std::vector<v1::Stats> messages;
  grpc::Status status = control.WatchStats(Millis(10), 1, 3s, &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_NE(status.error_message().find("interval"), std::string::npos) << Describe(status);
  EXPECT_TRUE(messages.empty());
}

}  // namespace
}  // namespace proxynode::testing
