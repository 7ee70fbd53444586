// A client connection and its HTTP/1 session in-process: a real EventLoop in its own thread,
// a loopback socket per test, and a fake owner in place of the worker. No node process. The
// cases are the races the integration tests found: a FIN that came with the request, a full
// socket and its EPOLLOUT edges, a close from inside a timer callback, and a hand-over while
// a response is still owed.

#include "dataplane/server/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/http/http_response.h"
#include "dataplane/server/idle_connections.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/session_pool.h"
#include "dataplane/stats/stats_registry.h"
#include "dataplane/stats/worker_stats.h"
#include "gtest/gtest.h"
#include "tests/dataplane/loop_thread.h"
#include "tests/dataplane/loopback.h"

namespace proxynode {
namespace {

using Clock = std::chrono::steady_clock;

// What a worker gives its connections, for one loop.
struct WorkerParts {
  WorkerParts(EventLoop& loop, ConfigSnapshotPtr config, ConnectionOwner& owner)
      : pool(loop, 4),
        snapshots(std::move(config)),
        sessions(loop, 4),
        idle(loop, snapshots, &Connection::ExpireIdle),
        context{loop, pool, sessions, idle, stats, snapshots, date, handler, owner} {}

  BufferPool pool;
  SnapshotCache snapshots;
  DateHeaderCache date;
  SessionPool sessions;
  IdleConnections idle;
  WorkerStats stats;
  RespondHandler handler;
  WorkerContext context;
};

// A loop thread serving connections, and the owner that a worker would be.
class Server : public ConnectionOwner {
 public:
  explicit Server(NodeConfig config) {
    auto snapshot = std::make_shared<const NodeConfig>(std::move(config));
    InLoop([&] { parts_ = std::make_unique<WorkerParts>(runner_.loop(), snapshot, *this); });
  }
  ~Server() override {
    InLoop([&] {
      connections_.clear();
      for (const ConnectionHandover& handover : handovers_) close(handover.fd);
    });
    // A later iteration: connections closed earlier are deleted (deferred) by then.
    InLoop([&] { parts_.reset(); });
  }

  template <typename Task>
  void InLoop(Task task) {
    runner_.InLoop(std::move(task));
  }

  // A new loopback connection served by a Connection; returns the client's (blocking) end.
  // `early` is sent (and with `early_fin` the write side shut) before the connection starts,
  // so it finds the bytes and the FIN in one wake-up.
  int Connect(const std::string& early = "", bool early_fin = false) {
    const LoopbackPair pair = ConnectOnLoopback();
    const int client = pair.client;
    const int served = pair.served;
    if (!early.empty()) {
      EXPECT_EQ(send(client, early.data(), early.size(), 0), static_cast<ssize_t>(early.size()));
    }
    if (early_fin) {
      shutdown(client, SHUT_WR);
    }
    if (!early.empty() || early_fin) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // loopback: delivered
    }
    InLoop([&] {
      auto connection = std::make_unique<Connection>(parts_->context, served, ++next_id_, false);
      Connection* raw = connection.get();
      connections_[raw] = std::move(connection);
      raw->Start();
    });
    return client;
  }

  // The one open connection's state as ListConnections shows it ("" when none is open).
  std::string StateOfOnlyConnection() {
    std::string state;
    InLoop([&] {
      if (connections_.size() == 1) state = connections_.begin()->second->Describe(0).state;
    });
    return state;
  }

  void OnConnectionClosed(Connection* connection) override {
    ++closed_;
    auto it = connections_.find(connection);
    ASSERT_NE(it, connections_.end());
    runner_.loop().DeferDelete(std::move(it->second));
    connections_.erase(it);
  }
  void HandOver(Connection* connection) override { handovers_.push_back(connection->Detach()); }
  bool MoveToIncomingCpu(Connection*) override { return false; }

  WorkerParts& parts() { return *parts_; }
  // Read in the loop thread (InLoop) only.
  int closed() const { return closed_; }
  const std::vector<ConnectionHandover>& handovers() const { return handovers_; }

 private:
  LoopThread runner_;
  std::unique_ptr<WorkerParts> parts_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<ConnectionHandover> handovers_;
  uint64_t next_id_ = 0;
  int closed_ = 0;
};

void SendAll(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Reads until `count` occurrences of `needle` arrived, EOF, or 5 s passed.
std::string ReadUntil(int fd, const std::string& needle, size_t count = 1) {
  std::string got;
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  auto occurrences = [&] {
    size_t found = 0;
    for (size_t at = got.find(needle); at != std::string::npos; at = got.find(needle, at + 1)) {
      ++found;
    }
    return found;
  };
  while (occurrences() < count && Clock::now() < give_up) {
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    char chunk[65536];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    got.append(chunk, static_cast<size_t>(n));
  }
  return got;
}

// True when the peer's EOF arrives within 5 s (whatever bytes come first are dropped).
bool SeesEof(int fd) {
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < give_up) {
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    char chunk[65536];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
  }
  return false;
}

NodeConfig Config(Nanos delay) {
  NodeConfig config;
  config.delay = delay;
  return config;
}

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(ConnectionTest, AnswersAfterItsDelayAndStaysOpenForTheNext) {
  Server server(Config(30 * kMillisecond));
  int client = server.Connect();
  const auto sent = Clock::now();
  SendAll(client, std::string(kGet));
  std::string response = ReadUntil(client, "Hello World\n");
  EXPECT_GE(Clock::now() - sent, std::chrono::milliseconds(30)) << "not before its deadline";
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_EQ(response.find("Connection: close"), std::string::npos);
  SendAll(client, std::string(kGet));
  EXPECT_NE(ReadUntil(client, "Hello World\n").find("200 OK"), std::string::npos);
  server.InLoop([&] {
    EXPECT_EQ(server.closed(), 0);
    EXPECT_EQ(server.parts().idle.size(), 1u) << "idle again, in the idle list";
    EXPECT_EQ(server.parts().sessions.in_use(), 0u) << "an idle connection holds no session";
  });
  close(client);
}

TEST(ConnectionTest, PipelinedResponsesLeaveInRequestOrderWhateverTheirDelays) {
  NodeConfig config = Config(0);
  RouteConfig slow;
  slow.prefix = "/slow";
  slow.delay = 60 * kMillisecond;
  RouteConfig fast;
  fast.prefix = "/fast";
  fast.delay = 0;
  config.routes = {slow, fast};
  Server server(config);
  int client = server.Connect();
  SendAll(client,
          "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
          "HEAD /fast HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string responses = ReadUntil(client, "HTTP/1.1 200 OK", 2);
  // The GET's body comes first: the HEAD (answered at once) waited behind it.
  size_t first_body = responses.find("Hello World\n");
  size_t second_head = responses.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(first_body, std::string::npos) << responses;
  ASSERT_NE(second_head, std::string::npos) << responses;
  EXPECT_LT(first_body, second_head) << responses;
  close(client);
}

// Data and FIN found in one read: the request is still answered, then the connection closes.
TEST(ConnectionTest, ARequestThatCameWithTheFinIsAnsweredThenClosed) {
  Server server(Config(0));
  int client = server.Connect(std::string(kGet), /*early_fin=*/true);
  EXPECT_NE(ReadUntil(client, "Hello World\n").find("200 OK"), std::string::npos);
  EXPECT_TRUE(SeesEof(client));
  server.InLoop([&] {
    EXPECT_EQ(server.closed(), 1);
    EXPECT_EQ(server.parts().stats.closed_by_peer.Get(), 1u);
  });
  close(client);
}

// A client that half-closes while its response waits on the delay: the response says it is
// the last one.
TEST(ConnectionTest, AHalfCloseDuringTheDelayMakesTheResponseSayClose) {
  Server server(Config(30 * kMillisecond));
  int client = server.Connect();
  SendAll(client, std::string(kGet));
  shutdown(client, SHUT_WR);
  std::string response = ReadUntil(client, "Hello World\n");
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  EXPECT_TRUE(SeesEof(client));
  close(client);
}

TEST(ConnectionTest, AMalformedRequestGets400ThenALingeringClose) {
  Server server(Config(0));
  int client = server.Connect();
  SendAll(client, "NOT HTTP\r\n\r\n");
  std::string response = ReadUntil(client, "\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 400 ")) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos);
  EXPECT_EQ(server.StateOfOnlyConnection(), "lingering");
  SendAll(client, "more bytes, discarded");
  shutdown(client, SHUT_WR);
  EXPECT_TRUE(SeesEof(client));
  server.InLoop([&] {
    EXPECT_EQ(server.closed(), 1);
    EXPECT_EQ(server.parts().stats.rejected.bad_request.Get(), 1u);
  });
  close(client);
}

// The header timeout fires from a timer callback, which answers 408 and closes from there.
TEST(ConnectionTest, AHeadThatStallsGets408FromTheTimer) {
  NodeConfig config = Config(0);
  config.header_timeout = 50 * kMillisecond;
  Server server(config);
  int client = server.Connect();
  SendAll(client, "GET / HTTP/1.1\r\nHo");
  EXPECT_EQ(server.StateOfOnlyConnection(), "reading_head");
  std::string response = ReadUntil(client, "\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 408 ")) << response;
  shutdown(client, SHUT_WR);
  EXPECT_TRUE(SeesEof(client));
  server.InLoop([&] { EXPECT_EQ(server.parts().stats.rejected.header_timeout.Get(), 1u); });
  close(client);
}

// A client that reads nothing fills the socket: the connection waits for EPOLLOUT edges and
// every response still arrives once the client reads.
TEST(ConnectionTest, AFullSocketWaitsForTheClientThenDeliversEverything) {
  NodeConfig config = Config(0);
  config.body = std::string(ConfigBounds::kMaxBodyBytes, 'b');
  Server server(config);
  int client = server.Connect();
  constexpr int kRequests = 32;  // 32 MiB of responses, far above the socket buffers
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += kGet;
  SendAll(client, requests);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(server.StateOfOnlyConnection(), "writing");
  size_t received = 0;
  char chunk[65536];
  const size_t expected = kRequests * config.body.size();
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (received < expected && Clock::now() < give_up) {
    ssize_t n = recv(client, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received += static_cast<size_t>(n);
  }
  EXPECT_GE(received, expected);
  server.InLoop([&] { EXPECT_EQ(server.parts().stats.responses_2xx.Get(), kRequests); });
  close(client);
}

// Retirement: a connection whose response is still owed moves once it has left, with its
// history, and is never closed.
TEST(ConnectionTest, ARetiringWorkerHandsOverAConnectionOnceItsResponseLeft) {
  Server server(Config(50 * kMillisecond));
  int client = server.Connect();
  SendAll(client, std::string(kGet));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.InLoop([&] {
    EXPECT_TRUE(server.handovers().empty());
    server.parts().context.retiring = true;
  });
  EXPECT_NE(ReadUntil(client, "Hello World\n").find("200 OK"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.InLoop([&] {
    ASSERT_EQ(server.handovers().size(), 1u);
    EXPECT_EQ(server.handovers()[0].requests_served, 1u);
    EXPECT_GT(server.handovers()[0].bytes_out, 0u);
    StatsValues counted;
    counted.Add(server.parts().stats);
    EXPECT_EQ(counted.connections_closed(), 0u);  // handed over, not closed
    EXPECT_EQ(server.parts().stats.connections_handed_out.Get(), 1u);
  });
  close(client);
}

}  // namespace
}  // namespace proxynode
