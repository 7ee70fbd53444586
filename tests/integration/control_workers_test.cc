// The worker count changed live under load: 1 -> 8 -> 2 -> 1 while a thousand keep-alive
// connections keep requesting. Retiring workers hand their connections over, so no client
// sees an error, a reset or a closed connection, and the stats follow.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/fd_limit.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// The value of header `name` (lower case, with the colon) in a response head, or "".
std::string HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    if (StartsWithIgnoreCase(line, name)) {
      std::string_view value = line.substr(name.size());
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      return std::string(value);
    }
    pos = end;
  }
  return "";
}

// A load generator on one thread: `connections` keep-alive connections on one epoll set
// (non-blocking sockets), each sending a GET, reading the whole response, then sending the
// next. Connections can be added while it runs. Thread contract: the public methods are for
// one controlling thread; counters are read with atomics.
class KeepAliveLoad {
 public:
  struct Result {
    uint64_t responses = 0;
    uint64_t failed = 0;      // not 200, wrong body, Connection: close, or unparsable
    uint64_t resets = 0;      // ECONNRESET (or EPIPE) on a socket
    uint64_t eofs = 0;        // the node closed a connection
    uint64_t io_errors = 0;   // any other socket error (connect included)
    uint64_t incomplete = 0;  // a response still owed when the load stopped
    size_t open_at_end = 0;   // connections still open (checked without blocking)
    size_t opened = 0;
    std::vector<std::string> errors;  // the first few, for messages
  };

  KeepAliveLoad(uint16_t port, std::string expected_body)
      : port_(port), expected_body_(std::move(expected_body)), request_(GetRequest()) {}
  ~KeepAliveLoad() {
    Stop(1s);
    for (Conn& conn : conns_) {
      if (conn.fd >= 0) {
        close(conn.fd);
      }
    }
  }
  KeepAliveLoad(const KeepAliveLoad&) = delete;
  KeepAliveLoad& operator=(const KeepAliveLoad&) = delete;

  void Start() {
    conns_.reserve(4096);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    thread_ = std::thread([this] { Run(); });
  }
  // Asks for `count` connections in all (more are opened, none closed).
  void SetConnections(size_t count) { target_.store(count); }
  // Connections that have had at least one complete response.
  size_t served_connections() const { return served_connections_.load(); }
  uint64_t responses() const { return responses_.load(); }
  // Every kind of trouble so far (failed responses, resets, EOFs, socket errors).
  uint64_t troubles() const { return troubles_.load(); }

  // Stops sending new requests, waits up to `timeout` for the responses owed, checks every
  // connection is still open, and returns the totals. The sockets stay open until destruction.
  Result Stop(std::chrono::milliseconds timeout) {
    if (thread_.joinable()) {
      stop_deadline_ = Clock::now() + timeout;
      stop_.store(true);
      thread_.join();
      Finish();
      close(epoll_fd_);
    }
    return result_;
  }

 private:
  struct Conn {
    int fd = -1;
    bool connecting = true;
    bool awaiting = false;  // a request sent, its response not complete yet
    bool closed = false;
    bool served = false;
    size_t out_offset = 0;
    std::string in;
  };

  void Run() {
    epoll_event events[256];
    while (true) {
      if (!stop_.load()) {
        OpenUpTo(target_.load());
      } else if (outstanding_ == 0 || Clock::now() >= stop_deadline_) {
        return;
      }
      int n = epoll_wait(epoll_fd_, events, 256, 10);
      for (int i = 0; i < n; ++i) {
        Handle(conns_[events[i].data.u32], events[i].events);
      }
    }
  }

  void Error(uint64_t Result::*counter, const std::string& what) {
    ++(result_.*counter);
    troubles_.fetch_add(1);
    if (result_.errors.size() < 5) {
      result_.errors.push_back(what);
    }
  }

  void OpenUpTo(size_t count) {
    while (conns_.size() < count) {
      conns_.emplace_back();
      Conn& conn = conns_.back();
      ++result_.opened;
      conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (conn.fd < 0) {
        Error(&Result::io_errors, std::string("socket: ") + std::strerror(errno));
        conn.closed = true;
        continue;
      }
      int one = 1;
      setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port_);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(conn.fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 &&
          errno != EINPROGRESS) {
        Error(&Result::io_errors, std::string("connect: ") + std::strerror(errno));
        CloseConn(conn);
        continue;
      }
      epoll_event event{};
      event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      event.data.u32 = static_cast<uint32_t>(conns_.size() - 1);
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn.fd, &event);
    }
  }

  void CloseConn(Conn& conn) {
    if (conn.awaiting) {
      conn.awaiting = false;
      --outstanding_;
    }
    conn.closed = true;
    close(conn.fd);
    conn.fd = -1;
  }

  void SocketError(Conn& conn, int error, const char* where) {
    if (error == ECONNRESET || error == EPIPE) {
      Error(&Result::resets, std::string(where) + ": " + std::strerror(error));
    } else {
      Error(&Result::io_errors, std::string(where) + ": " + std::strerror(error));
    }
    CloseConn(conn);
  }

  void Handle(Conn& conn, uint32_t events) {
    if (conn.closed) {
      return;
    }
    if (conn.connecting) {
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        SocketError(conn, error, "connect");
        return;
      }
      if ((events & EPOLLOUT) == 0) {
        return;
      }
      conn.connecting = false;
      if (!stop_.load()) {
        SendRequest(conn);
      }
    }
    if (conn.awaiting && conn.out_offset < request_.size()) {
      Flush(conn);
    }
    if (!conn.closed) {
      ReadAvailable(conn);
    }
  }

  void SendRequest(Conn& conn) {
    conn.awaiting = true;
    conn.out_offset = 0;
    ++outstanding_;
    Flush(conn);
  }

  void Flush(Conn& conn) {
    while (conn.out_offset < request_.size()) {
      ssize_t n = send(conn.fd, request_.data() + conn.out_offset,
                       request_.size() - conn.out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        conn.out_offset += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;  // EPOLLOUT comes when there is room
      }
      SocketError(conn, errno, "send");
      return;
    }
  }

  void ReadAvailable(Conn& conn) {
    char chunk[16384];
    while (true) {
      ssize_t n = recv(conn.fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        conn.in.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        ParseResponses(conn);  // what came before the end still counts
        Error(&Result::eofs, "the node closed a connection (" + std::to_string(conn.in.size()) +
                                 " unparsed bytes)");
        CloseConn(conn);
        return;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      SocketError(conn, errno, "recv");
      return;
    }
    ParseResponses(conn);
  }

  void ParseResponses(Conn& conn) {
    while (conn.awaiting) {
      size_t head_end = conn.in.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        return;
      }
      std::string_view head(conn.in.data(), head_end);
      std::string length_text = HeaderValue(head, "content-length:");
      size_t length = 0;
      if (length_text.empty() || length_text.find_first_not_of("0123456789") != std::string::npos) {
        Error(&Result::failed, "no usable Content-Length: " + std::string(head));
        CloseConn(conn);
        return;
      }
      length = std::stoul(length_text);
      if (conn.in.size() < head_end + 4 + length) {
        return;
      }
      std::string_view body(conn.in.data() + head_end + 4, length);
      bool ok = head.substr(0, 13) == "HTTP/1.1 200 " && body == expected_body_ &&
                HeaderValue(head, "connection:").find("close") == std::string::npos;
      if (!ok) {
        Error(&Result::failed, "bad response: " + std::string(head) + " body " + std::string(body));
      }
      ++result_.responses;
      responses_.fetch_add(1);
      conn.in.erase(0, head_end + 4 + length);
      conn.awaiting = false;
      --outstanding_;
      if (!conn.served) {
        conn.served = true;
        served_connections_.fetch_add(1);
      }
      if (!conn.in.empty()) {
        Error(&Result::failed, "bytes after a response nobody asked for");
        CloseConn(conn);
        return;
      }
      if (!stop_.load()) {
        SendRequest(conn);
      }
    }
    if (!conn.in.empty()) {
      Error(&Result::failed, "bytes while no request was outstanding");
      CloseConn(conn);
    }
  }

  // After the loop: what is still owed, and whether each connection is still open.
  void Finish() {
    for (Conn& conn : conns_) {
      if (conn.closed) {
        continue;
      }
      if (conn.awaiting) {
        ++result_.incomplete;
        if (result_.errors.size() < 5) {
          result_.errors.push_back("a response still owed at the end");
        }
      }
      char byte;
      ssize_t n = recv(conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ++result_.open_at_end;
      } else if (n == 0) {
        Error(&Result::eofs, "closed by the node at the end");
      } else if (n < 0) {
        Error(&Result::resets, std::string("at the end: ") + std::strerror(errno));
      } else if (!conn.awaiting) {
        Error(&Result::failed, "unexpected bytes at the end");
      } else {
        ++result_.open_at_end;  // the late response of an incomplete request
      }
    }
  }

  const uint16_t port_;
  const std::string expected_body_;
  const std::string request_;
  int epoll_fd_ = -1;
  std::thread thread_;
  std::atomic<size_t> target_{0};
  std::atomic<bool> stop_{false};
  Clock::time_point stop_deadline_;
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> troubles_{0};
  std::atomic<size_t> served_connections_{0};
  // Load thread only (read by the controlling thread after join).
  std::vector<Conn> conns_;  // never shrinks; Conn index = epoll data
  size_t outstanding_ = 0;
  Result result_;
};

// Polls GetStats until `condition` holds (or 5 s pass); returns the last stats read.
template <typename Condition>
bool StatsBecome(ControlClient& control, Condition condition, v1::Stats* last) {
  return WaitUntil(
      [&] {
        grpc::Status status = control.GetStats(last);
        return status.ok() && condition(*last);
      },
      5s, 20ms);
}

// Node side, with the load still on and the worker changes settled: every connection is
// there, none was closed, and every one handed out was handed in.
void ExpectNodeKeptEveryConnection(ControlClient& control, size_t connections) {
  v1::Stats stats;
  EXPECT_TRUE(StatsBecome(
      control,
      [&](const v1::Stats& s) {
        return s.total().connections_handed_out() == s.total().connections_handed_in();
      },
      &stats))
      << stats.total().ShortDebugString();
  EXPECT_GT(stats.total().connections_handed_out(), 0u) << "no connection was handed over";
  EXPECT_EQ(stats.total().connections_accepted(), connections);
  EXPECT_EQ(stats.total().connections_active(), static_cast<int64_t>(connections));
  EXPECT_EQ(stats.total().connections_closed(), 0u);
  v1::ListConnectionsResponse list;
  grpc::Status status = control.ListConnections(1, &list);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(list.total(), connections);
}

// Stops the load and checks it saw nothing go wrong: every response a complete 200, no reset,
// no end of stream, every connection still open.
KeepAliveLoad::Result StopAndExpectClean(KeepAliveLoad& load, size_t connections) {
  KeepAliveLoad::Result result = load.Stop(3s);
  std::string errors;
  for (const std::string& error : result.errors) {
    errors += "\n  " + error;
  }
  SCOPED_TRACE("load errors:" + errors);
  EXPECT_EQ(result.opened, connections);
  EXPECT_EQ(result.failed, 0u);
  EXPECT_EQ(result.resets, 0u);
  EXPECT_EQ(result.eofs, 0u);
  EXPECT_EQ(result.io_errors, 0u);
  EXPECT_EQ(result.incomplete, 0u);
  EXPECT_EQ(result.open_at_end, connections);
  EXPECT_GT(result.responses, 0u);
  return result;
}

// After the load: the node counted as many 2xx as the load received.
void ExpectNodeCounted(ControlClient& control, uint64_t responses) {
  v1::Stats stats;
  EXPECT_TRUE(StatsBecome(
      control, [&](const v1::Stats& s) { return s.total().responses_2xx() == responses; }, &stats))
      << stats.total().responses_2xx() << " 2xx counted by the node, " << responses << " received";
}

// Connections for a load: 1,000, or fewer when the fd limit cannot take them.
size_t LoadConnections(size_t wanted) {
  const size_t soft = RaiseOpenFileLimit();
  return std::min<size_t>(wanted, soft / 2 > 200 ? static_cast<size_t>(soft / 2 - 100) : 100);
}

TEST(ControlWorkersTest, WorkersOneToEightToTwoToOneUnderLoadLoseNothing) {
  const size_t connections = LoadConnections(1000);
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=1", "--delay=20ms"}));
  ControlClient control(node.control_port());

  KeepAliveLoad load(node.http_port(), "Hello World\n");
  load.Start();
  // Half the connections on the single worker, the other half once there are eight, so that
  // every retirement later has connections to hand over.
  const size_t first_half = connections / 2;
  load.SetConnections(first_half);
  ASSERT_TRUE(WaitUntil([&] { return load.served_connections() >= first_half; }, 10s))
      << load.served_connections() << " of " << first_half << " connections served";

  struct Phase {
    uint32_t workers;
    uint64_t responses_before;
    uint64_t responses_after;
  };
  std::vector<Phase> phases;
  for (uint32_t workers : {8u, 2u, 1u}) {
    SCOPED_TRACE("workers=" + std::to_string(workers));
    Phase& phase = phases.emplace_back(Phase{workers, load.responses(), 0});
    const auto phase_start = Clock::now();
    v1::NodeConfig change;
    change.set_workers(workers);
    v1::UpdateConfigResponse response;
    grpc::Status status = control.Update(change, {"workers"}, &response);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(response.config().workers(), workers);
    if (workers == 8) {
      load.SetConnections(connections);
      ASSERT_TRUE(WaitUntil([&] { return load.served_connections() >= connections; }, 10s))
          << load.served_connections() << " of " << connections << " connections served";
    }
    // Retiring workers go once their connections are handed over (asynchronously).
    v1::Stats stats;
    EXPECT_TRUE(StatsBecome(
        control,
        [&](const v1::Stats& s) {
          return s.workers() == workers && s.per_worker_size() == static_cast<int>(workers);
        },
        &stats))
        << stats.ShortDebugString();
    std::this_thread::sleep_until(phase_start + 1s);
    phase.responses_after = load.responses();
  }

  ExpectNodeKeptEveryConnection(control, connections);
  KeepAliveLoad::Result result = StopAndExpectClean(load, connections);
  for (const Phase& phase : phases) {
    EXPECT_GT(phase.responses_after, phase.responses_before)
        << "no response while going to " << phase.workers << " workers";
  }
  ExpectNodeCounted(control, result.responses);
}

// Changes back to back, each applied while the previous retirements may still be handing
// connections over: handovers land on workers that are themselves about to retire.
TEST(ControlWorkersTest, RapidWorkerChangesUnderLoadLoseNothing) {
  const size_t connections = LoadConnections(400);
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=6", "--delay=5ms"}));
  ControlClient control(node.control_port());
  KeepAliveLoad load(node.http_port(), "Hello World\n");
  load.Start();
  load.SetConnections(connections);
  ASSERT_TRUE(WaitUntil([&] { return load.served_connections() >= connections; }, 10s))
      << load.served_connections() << " of " << connections << " connections served";

  for (uint32_t workers : {1u, 8u, 2u, 7u, 1u, 5u, 3u, 8u, 1u, 4u, 2u, 1u}) {
    SCOPED_TRACE("workers=" + std::to_string(workers));
    v1::NodeConfig change;
    change.set_workers(workers);
    grpc::Status status = control.Update(change, {"workers"});
    ASSERT_TRUE(status.ok()) << Describe(status);
    std::this_thread::sleep_for(50ms);
  }
  v1::Stats stats;
  EXPECT_TRUE(StatsBecome(
      control, [](const v1::Stats& s) { return s.workers() == 1 && s.per_worker_size() == 1; },
      &stats))
      << stats.ShortDebugString();
  const uint64_t settled = load.responses();
  ASSERT_TRUE(WaitUntil([&] { return load.responses() > settled + 1000; }, 5s))
      << "the load stalled after the changes";

  ExpectNodeKeptEveryConnection(control, connections);
  KeepAliveLoad::Result result = StopAndExpectClean(load, connections);
  ExpectNodeCounted(control, result.responses);
}

// Peer ("127.0.0.1:port") -> the connection's row, from one ListConnections.
std::map<std::string, v1::Connection> ConnectionsByPeer(ControlClient& control) {
  v1::ListConnectionsResponse list;
  grpc::Status status = control.ListConnections(0, &list);
  EXPECT_TRUE(status.ok()) << Describe(status);
  std::map<std::string, v1::Connection> rows;
  for (const v1::Connection& row : list.connections()) rows[row.peer()] = row;
  return rows;
}

void SetWorkers(ControlClient& control, uint32_t workers) {
  v1::NodeConfig change;
  change.set_workers(workers);
  grpc::Status status = control.Update(change, {"workers"});
  ASSERT_TRUE(status.ok()) << Describe(status);
}

// A connection moved to another worker (its worker retired) is the same connection to the
// operator: ListConnections shows it with the id it had, and the ids of connections a later
// worker accepts (one that takes the retired worker's index) stay distinct from the moved ones.
TEST(ControlWorkersTest, AConnectionKeepsItsIdWhenItMovesToAnotherWorker) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=2", "--delay=0s"}));
  ControlClient control(node.control_port());
  // Keep-alive connections, each served once; the accept share spreads them over both workers.
  constexpr int kConnections = 16;
  std::vector<HttpClient> clients;
  auto open_and_serve = [&](int count) {
    for (int i = 0; i < count; ++i) {
      HttpClient& client = clients.emplace_back(ConnectTo(node.http_port()));
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
      ASSERT_TRUE(response) << client.error();
      ASSERT_EQ(response->status, 200);
    }
  };
  open_and_serve(kConnections);
  const std::map<std::string, v1::Connection> before = ConnectionsByPeer(control);
  ASSERT_EQ(before.size(), static_cast<size_t>(kConnections));
  const auto on_worker_1 = std::count_if(before.begin(), before.end(),
                                         [](const auto& row) { return row.second.worker() == 1; });
  ASSERT_GT(on_worker_1, 0) << "every connection landed on worker 0: nothing would move";

  SetWorkers(control, 1);
  std::map<std::string, v1::Connection> after;
  EXPECT_TRUE(WaitUntil(
      [&] {
        after = ConnectionsByPeer(control);
        return after.size() == before.size() &&
               std::all_of(after.begin(), after.end(),
                           [](const auto& row) { return row.second.worker() == 0; });
      },
      5s))
      << "connections did not all move to worker 0";
  for (const auto& [peer, row] : before) {
    SCOPED_TRACE(peer + " was on worker " + std::to_string(row.worker()));
    auto moved = after.find(peer);
    ASSERT_NE(moved, after.end());
    EXPECT_EQ(moved->second.id(), row.id());
    EXPECT_EQ(moved->second.requests(), 1u);
  }

  // Worker index 1 again, as a new worker (once the retired one is gone): its connections
  // get ids of their own.
  v1::Stats stats;
  ASSERT_TRUE(StatsBecome(
      control, [](const v1::Stats& s) { return s.workers() == 1 && s.per_worker_size() == 1; },
      &stats))
      << stats.ShortDebugString();
  SetWorkers(control, 2);
  open_and_serve(kConnections);
  const std::map<std::string, v1::Connection> grown = ConnectionsByPeer(control);
  ASSERT_EQ(grown.size(), static_cast<size_t>(2 * kConnections));
  std::set<uint64_t> ids;
  for (const auto& [peer, row] : grown) ids.insert(row.id());
  EXPECT_EQ(ids.size(), grown.size()) << "two connections share an id";
}

}  // namespace
}  // namespace proxynode::testing
