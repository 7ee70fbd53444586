#pragma once

// A client for the fault tests that sees what HttpClient hides: when each part of a response
// arrived (the first byte, the end of the head, the end of the body), and how the connection
// ended (still open, FIN, RST, or nothing at all before a deadline). It can also connect from
// another loopback source address (127.0.0.2) to test client-address matches, and run many
// requests at once on as many connections, timing each.
//
// Thread contract: a Probe is used by one thread.

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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"

namespace proxynode::testing::fault {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

inline double MillisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// How the connection stood when a read stopped.
enum class Ending {
  kOpen,     // one whole response arrived (by its Content-Length); the connection stays open
  kEof,      // the node closed it (FIN)
  kReset,    // the node reset it (RST: ECONNRESET)
  kTimeout,  // the deadline passed with neither a whole response nor an end
  kError,    // another socket error
};

inline const char* EndingName(Ending ending) {
  switch (ending) {
    case Ending::kOpen:
      return "open";
    case Ending::kEof:
      return "eof";
    case Ending::kReset:
      return "reset";
    case Ending::kTimeout:
      return "timeout";
    case Ending::kError:
      return "error";
  }
  return "?";
}

// The case-insensitive value of field `name` in a raw response head; nullopt when absent.
inline std::optional<std::string> FieldOf(std::string_view response, std::string_view name) {
  const size_t head_end = response.find("\r\n\r\n");
  std::string_view head = response.substr(0, head_end);
  size_t start = head.find("\r\n");
  while (start != std::string_view::npos) {
    start += 2;
    size_t end = head.find("\r\n", start);
    std::string_view line =
        head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon == name.size()) {
      bool same = true;
      for (size_t i = 0; i < colon; ++i) {
        same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                           std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        return std::string(value);
      }
    }
    start = end;
  }
  return std::nullopt;
}

// What one read of a response saw.
struct Exchange {
  std::string bytes;  // everything received, in order
  Ending ending = Ending::kTimeout;
  Clock::time_point sent{};
  std::optional<Clock::time_point> first_byte;     // the first byte of the response
  std::optional<Clock::time_point> head_complete;  // the blank line ending its head
  std::optional<Clock::time_point> complete;       // the last byte its Content-Length promised
  Clock::time_point ended{};                       // when the read stopped

  int status() const { return abuse::StatusOf(bytes); }
  bool has_head() const { return bytes.find("\r\n\r\n") != std::string::npos; }
  std::optional<std::string> Header(std::string_view name) const {
    if (!has_head()) return std::nullopt;
    return FieldOf(bytes, name);
  }
  std::optional<uint64_t> ContentLength() const {
    std::optional<std::string> text = Header("content-length");
    if (!text || text->empty()) return std::nullopt;
    uint64_t value = 0;
    for (char c : *text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    return value;
  }
  // The bytes after the head (all of them, whatever Content-Length says).
  std::string Body() const {
    const size_t head_end = bytes.find("\r\n\r\n");
    return head_end == std::string::npos ? std::string() : bytes.substr(head_end + 4);
  }
  size_t HeadBytes() const {
    const size_t head_end = bytes.find("\r\n\r\n");
    return head_end == std::string::npos ? 0 : head_end + 4;
  }
  // Milliseconds from the request's send to `point` (to the read's end when unset).
  double MillisTo(const std::optional<Clock::time_point>& point) const {
    return MillisBetween(sent, point.value_or(ended));
  }
  double MillisToComplete() const { return MillisTo(complete); }
  double MillisToEnd() const { return MillisBetween(sent, ended); }
  // For assertion messages: the ending, the first bytes received and the timings.
  std::string Describe() const {
    std::string text = std::string("ending=") + EndingName(ending) +
                       " bytes=" + std::to_string(bytes.size()) + " after " +
                       std::to_string(static_cast<int>(MillisToEnd())) + " ms: \"" +
                       bytes.substr(0, 200) + "\"";
    return text;
  }
};

// One client connection to the node's loopback port, optionally from another loopback
// address. Reads are bounded by deadlines; nothing blocks for longer.
class Probe {
 public:
  Probe() = default;
  Probe(Probe&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), leftover_(std::move(other.leftover_)) {}
  Probe& operator=(Probe&&) = delete;
  Probe(const Probe&) = delete;

  // Connects to 127.0.0.1:`port` from `source` (an address of this host, e.g. 127.0.0.2;
  // empty: chosen by the kernel).
  ::testing::AssertionResult Connect(uint16_t port, const std::string& source = "") {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
    Close();
    fd_ = fd;
    if (!source.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_port = 0;
      if (inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
          bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
        const int saved = errno;
        Close();
        return ::testing::AssertionFailure()
               << "bind to " << source << ": " << std::strerror(saved);
      }
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      const int saved = errno;
      Close();
      return ::testing::AssertionFailure() << "connect: " << std::strerror(saved);
    }
    return ::testing::AssertionSuccess();
  }

  ~Probe() { Close(); }

  void Close() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  void ShutdownWrite() {
    if (fd_ >= 0) shutdown(fd_, SHUT_WR);
  }
  int fd() const { return fd_; }

  // Writes all of `bytes`; false on an error (the node may have reset the connection).
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends `request` and reads one response (see Read).
  Exchange RoundTrip(std::string_view request, Millis timeout, bool head_request = false) {
    const Clock::time_point sent = Clock::now();
    if (!Send(request)) {
      Exchange failed;
      failed.sent = sent;
      failed.ending = errno == ECONNRESET ? Ending::kReset : Ending::kError;
      failed.ended = Clock::now();
      return failed;
    }
    return Read(sent, timeout, /*stop_at_response=*/true, head_request);
  }

  // Reads until one whole response is in (by its Content-Length; `head_request`: the head
  // alone) when `stop_at_response`, else until the connection ends; or until `timeout`.
  // Bytes past that response stay for the next Read.
  Exchange Read(Clock::time_point sent, Millis timeout, bool stop_at_response,
                bool head_request = false) {
    Exchange exchange;
    exchange.sent = sent;
    exchange.bytes = std::move(leftover_);
    leftover_.clear();
    if (!exchange.bytes.empty()) exchange.first_byte = Clock::now();
    Continue(exchange, timeout, stop_at_response, head_request);
    return exchange;
  }

  // Goes on reading into `exchange` (one that stopped at its deadline), as Read does.
  void Continue(Exchange& exchange, Millis timeout, bool stop_at_response,
                bool head_request = false) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      Note(exchange, head_request);
      if (stop_at_response && exchange.complete) {
        const size_t whole = WholeSize(exchange.bytes, head_request);
        leftover_ = exchange.bytes.substr(whole);
        exchange.bytes.resize(whole);
        exchange.ending = Ending::kOpen;
        break;
      }
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = poll(&pfd, 1, abuse::MillisUntil(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        exchange.ending = Ending::kTimeout;
        break;
      }
      char chunk[65536];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        if (exchange.bytes.empty()) exchange.first_byte = Clock::now();
        exchange.bytes.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        exchange.ending = Ending::kEof;
        break;
      }
      if (errno == EINTR) continue;
      exchange.ending = errno == ECONNRESET ? Ending::kReset : Ending::kError;
      break;
    }
    exchange.ended = Clock::now();
  }

 private:
  // The size of the first whole response in `bytes`, or 0 when it is not all there.
  static size_t WholeSize(const std::string& bytes, bool head_request) {
    const size_t head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) return 0;
    Exchange probe;
    probe.bytes = bytes.substr(0, head_end + 4);
    const uint64_t length = head_request ? 0 : probe.ContentLength().value_or(0);
    const size_t whole = head_end + 4 + static_cast<size_t>(length);
    return bytes.size() >= whole ? whole : 0;
  }

  static void Note(Exchange& exchange, bool head_request) {
    const Clock::time_point now = Clock::now();
    if (!exchange.head_complete && exchange.has_head()) exchange.head_complete = now;
    if (!exchange.complete && WholeSize(exchange.bytes, head_request) != 0) {
      exchange.complete = now;
    }
  }

  int fd_ = -1;
  std::string leftover_;
};

// Runs `requests[i]` on connection i, all at once (each connection opened, then every
// request sent), and reads one response from each; an Exchange per request, in order.
// Each exchange's `sent` is its own send time.
inline std::vector<Exchange> ConcurrentRoundTrips(uint16_t port,
                                                  const std::vector<std::string>& requests,
                                                  Millis timeout) {
  std::vector<abuse::RawSocket> sockets(requests.size());
  std::vector<Exchange> exchanges(requests.size());
  const ::testing::AssertionResult connected = abuse::ConnectAll(sockets, port, 64, timeout);
  EXPECT_TRUE(connected);
  if (!connected) return exchanges;
  for (size_t i = 0; i < requests.size(); ++i) {
    exchanges[i].sent = Clock::now();
    if (!sockets[i].SendAll(requests[i], timeout)) {
      ADD_FAILURE() << "request " << i << " could not be sent";
      exchanges[i].ending = Ending::kError;
      exchanges[i].ended = Clock::now();
    }
  }
  const auto deadline = Clock::now() + timeout;
  std::vector<bool> done(requests.size(), false);
  for (size_t i = 0; i < requests.size(); ++i) done[i] = exchanges[i].ending == Ending::kError;
  while (true) {
    std::vector<pollfd> waiting;
    std::vector<size_t> index;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!done[i]) {
        waiting.push_back(pollfd{sockets[i].fd(), POLLIN, 0});
        index.push_back(i);
      }
    }
    if (waiting.empty()) break;
    const int ready = poll(waiting.data(), waiting.size(), abuse::MillisUntil(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      for (size_t i : index) {
        exchanges[i].ending = Ending::kTimeout;
        exchanges[i].ended = Clock::now();
      }
      break;
    }
    for (size_t k = 0; k < waiting.size(); ++k) {
      if (waiting[k].revents == 0) continue;
      const size_t i = index[k];
      Exchange& exchange = exchanges[i];
      const bool was_empty = exchange.bytes.empty();
      const abuse::RawSocket::Read result = sockets[i].Drain(&exchange.bytes);
      const Clock::time_point now = Clock::now();
      if (was_empty && !exchange.bytes.empty()) exchange.first_byte = now;
      if (!exchange.head_complete && exchange.has_head()) exchange.head_complete = now;
      if (exchange.has_head()) {
        const size_t whole = exchange.HeadBytes() + exchange.ContentLength().value_or(0);
        if (exchange.bytes.size() >= whole) {
          exchange.complete = now;
          exchange.ending = Ending::kOpen;
          exchange.ended = now;
          done[i] = true;
          continue;
        }
      }
      if (result == abuse::RawSocket::Read::kEof) {
        exchange.ending = Ending::kEof;
      } else if (result == abuse::RawSocket::Read::kError) {
        exchange.ending = errno == ECONNRESET ? Ending::kReset : Ending::kError;
      } else {
        continue;
      }
      exchange.ended = now;
      done[i] = true;
    }
  }
  return exchanges;
}

}  // namespace proxynode::testing::fault
