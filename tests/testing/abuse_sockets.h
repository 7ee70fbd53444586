#pragma once

// Raw client sockets for the abuse tests (abuse_test.cc, abuse_slowloris_test.cc) and the
// proxy tests' StreamClient: what HttpClient does not do — thousands of connections at once,
// writes that never block, clients that never read, and connections ended with a reset (RST)
// instead of a FIN.
//
// Thread contract: a RawSocket is used by one thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace proxynode::testing::abuse {

using Clock = std::chrono::steady_clock;

// Sanitizer builds (scripts/test.sh runs the suite under ASan+UBSan and TSan; the node under
// test is built the same way) run 2-5x slower, TSan the slowest: timing bounds widen with them.
// GCC defines __SANITIZE_*__; clang answers __has_feature.
#if defined(__has_feature)
#define PROXYNODE_HAS_FEATURE(feature) __has_feature(feature)
#else
#define PROXYNODE_HAS_FEATURE(feature) 0
#endif
inline constexpr bool kThreadSanitizer =
#if defined(__SANITIZE_THREAD__) || PROXYNODE_HAS_FEATURE(thread_sanitizer)
    true;
#else
    false;
#endif
inline constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || PROXYNODE_HAS_FEATURE(address_sanitizer)
    true;
#else
    kThreadSanitizer;
#endif

// Headroom on top of what the node is configured to take (a delay, a timeout) before a
// response counts as late.
inline constexpr std::chrono::milliseconds kSlack{kThreadSanitizer ? 5000
                                                  : kSanitized     ? 3000
                                                                   : 1000};

// Milliseconds from now until `deadline` for poll(): 0 once it has passed.
inline int MillisUntil(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

class RawSocket {
 public:
  enum class Read { kAgain, kEof, kError };

  RawSocket() = default;
  ~RawSocket() { Close(); }
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawSocket& operator=(RawSocket&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Starts a non-blocking connect to 127.0.0.1:`port`. False (errno set) if it failed at once;
  // otherwise it completes in the background (wait for POLLOUT, then ConnectError()).
  bool StartConnect(uint16_t port) {
    Close();
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 ||
        errno == EINPROGRESS) {
      return true;
    }
    const int saved = errno;
    Close();
    errno = saved;
    return false;
  }

  // 0 once the connect succeeded, else its errno (SO_ERROR).
  int ConnectError() const {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
  }

  // The local port: the node names a connection by it (ListConnections peer "127.0.0.1:port").
  uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }

  // Writes what the socket takes now, without blocking: the bytes written (0 when the socket
  // buffer is full), or -1 with errno set on an error.
  ssize_t SendSome(std::string_view bytes) {
    while (true) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
  }

  // Writes all of `bytes`, waiting up to `timeout` for room; false if it could not.
  bool SendAll(std::string_view bytes, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
      ssize_t n = SendSome(bytes);
      if (n < 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
      if (bytes.empty()) break;
      pollfd pfd{fd_, POLLOUT, 0};
      if (poll(&pfd, 1, MillisUntil(deadline)) <= 0) return false;
    }
    return true;
  }

  // Reads everything there is now, without blocking, appending to `*out`: kAgain when the
  // socket is drained (bytes may have been appended), kEof at end of stream, kError (errno
  // set, e.g. ECONNRESET) on an error.
  Read Drain(std::string* out) {
    char chunk[16384];
    while (true) {
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        out->append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return Read::kEof;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Read::kAgain;
      return Read::kError;
    }
  }

  // Reads until end of stream or an error, or until `deadline` (then kAgain).
  Read ReadToEnd(std::string* out, Clock::time_point deadline) {
    while (true) {
      Read result = Drain(out);
      if (result != Read::kAgain) return result;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, MillisUntil(deadline)) <= 0) return Read::kAgain;
    }
  }

  // Ends the connection with a reset: SO_LINGER {on, 0 s}, then close() sends RST, not FIN.
  void Reset() {
    if (fd_ < 0) return;
    linger reset_on_close{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
    Close();
  }

  void Close() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Connects every socket in `sockets` to 127.0.0.1:`port`, `batch` at a time (each batch
// connected before the next starts, so the node's accept queue never overflows and no SYN
// waits for a retransmission), within `timeout` overall.
inline ::testing::AssertionResult ConnectAll(std::vector<RawSocket>& sockets, uint16_t port,
                                             size_t batch, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (size_t first = 0; first < sockets.size(); first += batch) {
    const size_t last = std::min(sockets.size(), first + batch);
    std::vector<pollfd> pending;
    for (size_t i = first; i < last; ++i) {
      if (!sockets[i].StartConnect(port)) {
        return ::testing::AssertionFailure()
               << "connection " << i << ": connect: " << std::strerror(errno);
      }
      pending.push_back(pollfd{sockets[i].fd(), POLLOUT, 0});
    }
    while (!pending.empty()) {
      int n = poll(pending.data(), pending.size(), MillisUntil(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return ::testing::AssertionFailure() << pending.size() << " of connections " << first
                                             << ".." << last - 1 << " not connected in time";
      }
      std::vector<pollfd> still;
      for (const pollfd& entry : pending) {
        if (entry.revents == 0) {
          still.push_back(pollfd{entry.fd, POLLOUT, 0});
          continue;
        }
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(entry.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
          return ::testing::AssertionFailure() << "connect: " << std::strerror(error);
        }
      }
      pending = std::move(still);
    }
  }
  return ::testing::AssertionSuccess();
}

// The status of a raw response ("HTTP/1.1 408 Request Timeout\r\n..."); 0 if `response`
// does not start with a status line.
inline int StatusOf(std::string_view response) {
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  if (response.size() < kVersion.size() + 3 || response.substr(0, kVersion.size()) != kVersion) {
    return 0;
  }
  int status = 0;
  for (char c : response.substr(kVersion.size(), 3)) {
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

// True when the head of a raw response holds the field line `line` exactly, e.g.
// "Connection: close".
inline bool HasFieldLine(std::string_view response, std::string_view line) {
  const std::string_view head = response.substr(0, response.find("\r\n\r\n"));
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string_view::npos ||
         head.ends_with("\r\n" + std::string(line));
}

// The port of a ListConnections peer, "127.0.0.1:PORT" (0 if there is none).
inline uint16_t PortOfPeer(std::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return 0;
  unsigned port = 0;
  for (char c : peer.substr(colon + 1)) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  return port > 65535 ? 0 : static_cast<uint16_t>(port);
}

}  // namespace proxynode::testing::abuse
