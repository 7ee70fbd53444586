#pragma once

// What the TCP proxy tests share (issue 19): a node under test with TCP proxies set over its
// control port, an echo server behind them, blocking client sockets with deadlines, and
// the proxies' counters read back. Toxics are judged by what a client sees.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/echo_server.h"

namespace proxynode::testing {

using TcpClock = std::chrono::steady_clock;

// A blocking client socket with a deadline on every read.
class TcpClient {
 public:
  enum class End { kData, kEof, kReset, kTimeout, kError };

  explicit TcpClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~TcpClient() { close(fd_); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Reads until `bytes` arrived (kData), or the connection ended or `timeout` passed first;
  // what arrived is appended to `out`.
  End Receive(size_t bytes, std::chrono::milliseconds timeout, std::string* out) {
    const auto deadline = TcpClock::now() + timeout;
    size_t got = 0;
    char buffer[64 * 1024];
    while (got < bytes) {
      pollfd wait{fd_, POLLIN, 0};
      if (poll(&wait, 1, abuse::MillisUntil(deadline)) <= 0) return End::kTimeout;
      ssize_t n = recv(fd_, buffer, std::min(sizeof(buffer), bytes - got), 0);
      if (n > 0) {
        out->append(buffer, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) return End::kEof;
      if (errno == EINTR) continue;
      return errno == ECONNRESET ? End::kReset : End::kError;
    }
    return End::kData;
  }
  // Reads and drops everything until the connection ends or `timeout` passes.
  End WaitForEnd(std::chrono::milliseconds timeout, std::string* out = nullptr) {
    std::string ignored;
    return Receive(SIZE_MAX, timeout, out != nullptr ? out : &ignored);
  }
  // One round trip: sends `message`, reads as many bytes back; the time it took.
  std::chrono::microseconds RoundTrip(std::string_view message, std::string* echoed) {
    const auto start = TcpClock::now();
    EXPECT_TRUE(Send(message));
    EXPECT_EQ(Receive(message.size(), std::chrono::seconds(10), echoed), End::kData);
    return std::chrono::duration_cast<std::chrono::microseconds>(TcpClock::now() - start);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

inline const char* EndName(TcpClient::End end) {
  switch (end) {
    case TcpClient::End::kData:
      return "data";
    case TcpClient::End::kEof:
      return "eof";
    case TcpClient::End::kReset:
      return "reset";
    case TcpClient::End::kTimeout:
      return "timeout";
    case TcpClient::End::kError:
      return "error";
  }
  return "?";
}

inline v1::TcpProxy TcpProxy(const std::string& name, uint16_t upstream_port,
                             const std::string& listen = "127.0.0.1:0") {
  v1::TcpProxy proxy;
  proxy.set_name(name);
  proxy.set_listen(listen);
  proxy.set_upstream("127.0.0.1:" + std::to_string(upstream_port));
  return proxy;
}

inline v1::Toxic LatencyToxic(const std::string& name, int64_t milliseconds,
                              v1::Toxic::Stream stream = v1::Toxic::DOWNSTREAM) {
  v1::Toxic toxic;
  toxic.set_name(name);
  toxic.set_stream(stream);
  *toxic.mutable_latency()->mutable_latency() = Millis(milliseconds);
  return toxic;
}

class TcpProxyFixture : public ProxyFixture {
 protected:
  ::testing::AssertionResult StartTcpNode(const std::vector<std::string>& flags = {}) {
    return StartNode({"--workers=2", "--delay=0s"}, flags);
  }

  // Replaces the node's TCP proxies; on success `response` (when given) has the config
  // applied, with the ports bound for port 0.
  ::testing::AssertionResult SetProxies(const std::vector<v1::TcpProxy>& proxies,
                                        v1::UpdateConfigResponse* response = nullptr) {
    v1::NodeConfig config;
    for (const v1::TcpProxy& proxy : proxies) *config.add_tcp_proxies() = proxy;
    v1::UpdateConfigResponse ignored;
    grpc::Status status = control_->Update(config, {"tcp_proxies"}, response ? response : &ignored);
    if (status.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "UpdateConfig(tcp_proxies): " << Describe(status);
  }

  // Sets one proxy to the echo server with `toxics`; returns the port it listens on (0 and a
  // test failure when refused). `listen` keeps a port across calls.
  uint16_t SetEchoProxy(const std::vector<v1::Toxic>& toxics,
                        const std::string& listen = "127.0.0.1:0") {
    v1::TcpProxy proxy = TcpProxy("echo", echo_.port(), listen);
    for (const v1::Toxic& toxic : toxics) *proxy.add_toxics() = toxic;
    v1::UpdateConfigResponse response;
    EXPECT_TRUE(SetProxies({proxy}, &response));
    if (response.config().tcp_proxies_size() != 1) return 0;
    const std::string& bound = response.config().tcp_proxies(0).listen();
    return static_cast<uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  }

  // The node's counters for proxy `name` (all zero when it has none).
  v1::TcpProxyStats ProxyStats(const std::string& name) {
    v1::Stats stats = Stats();
    for (const v1::TcpProxyStats& proxy : stats.tcp_proxies()) {
      if (proxy.name() == name) return proxy;
    }
    return {};
  }

  EchoServer echo_;
};

}  // namespace proxynode::testing
