#include "tests/testing/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace proxynode::testing {
namespace {

using Clock = std::chrono::steady_clock;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Milliseconds left until `deadline`, for poll() (0 once passed).
int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd pfd{fd, events, 0};
    int n = poll(&pfd, 1, RemainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Parses the head block (status line and fields, without the final CRLF CRLF).
bool ParseHead(std::string_view head, HttpResponse* response, std::string* error) {
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK": version, a 3-digit status, and a reason that may be empty.
  size_t sp1 = status_line.find(' ');
  if (sp1 == std::string_view::npos || status_line.size() < sp1 + 4) {
    *error = "bad status line: " + std::string(status_line);
    return false;
  }
  response->version = std::string(status_line.substr(0, sp1));
  std::string_view code = status_line.substr(sp1 + 1, 3);
  response->status = 0;
  for (char c : code) {
    if (c < '0' || c > '9') {
      *error = "bad status code: " + std::string(status_line);
      return false;
    }
    response->status = response->status * 10 + (c - '0');
  }
  if (status_line.size() > sp1 + 4) {
    response->reason = std::string(status_line.substr(sp1 + 5));
  }
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view line = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      *error = "bad header line: " + std::string(line);
      return false;
    }
    response->headers.emplace_back(std::string(line.substr(0, colon)),
                                   std::string(Trim(line.substr(colon + 1))));
  }
  return true;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

bool HttpResponse::ConnectionClose() const {
  std::optional<std::string> value = Header("Connection");
  if (!value) return false;
  std::string_view list = *value;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), "close")) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      eof_(other.eof_),
      in_(std::move(other.in_)),
      error_(std::move(other.error_)) {}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    eof_ = other.eof_;
    in_ = std::move(other.in_);
    error_ = std::move(other.error_);
  }
  return *this;
}

::testing::AssertionResult HttpClient::Connect(uint16_t port, std::chrono::milliseconds timeout) {
  Close();
  eof_ = false;
  in_.clear();
  // Non-blocking throughout: every wait below is a poll() with a deadline.
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  if (rc != 0 && errno != EINPROGRESS) {
    int saved = errno;
    Close();
    return ::testing::AssertionFailure()
           << "connect to port " << port << ": " << std::strerror(saved);
  }
  if (rc != 0) {
    if (!WaitFor(fd_, POLLOUT, Clock::now() + timeout)) {
      Close();
      return ::testing::AssertionFailure() << "connect to port " << port << " timed out";
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      Close();
      return ::testing::AssertionFailure()
             << "connect to port " << port << ": " << std::strerror(so_error);
    }
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult HttpClient::Send(std::string_view bytes,
                                            std::chrono::milliseconds timeout) {
  if (fd_ < 0) return ::testing::AssertionFailure() << "send: not connected";
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd_, POLLOUT, deadline)) {
        return ::testing::AssertionFailure() << "send timed out, " << bytes.size() << " left";
      }
      continue;
    }
    return ::testing::AssertionFailure() << "send: " << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

HttpClient::ReadStatus HttpClient::ReadSome(Clock::time_point deadline) {
  if (fd_ < 0) {
    error_ = "not connected";
    return ReadStatus::kError;
  }
  if (eof_) return ReadStatus::kEof;
  if (!WaitFor(fd_, POLLIN, deadline)) {
    error_ = "timed out waiting for data (" + std::to_string(in_.size()) + " bytes buffered)";
    return ReadStatus::kTimeout;
  }
  char chunk[16384];
  while (true) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      in_.append(chunk, static_cast<size_t>(n));
      return ReadStatus::kData;
    }
    if (n == 0) {
      eof_ = true;
      return ReadStatus::kEof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Spurious wake-up: look again within the same deadline.
      if (!WaitFor(fd_, POLLIN, deadline)) {
        error_ = "timed out waiting for data";
        return ReadStatus::kTimeout;
      }
      continue;
    }
    error_ = std::string("recv: ") + std::strerror(errno);
    return ReadStatus::kError;
  }
}

std::optional<HttpResponse> HttpClient::ReadResponse(bool head_request,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  error_.clear();
  size_t head_end;
  while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
    ReadStatus status = ReadSome(deadline);
    if (status == ReadStatus::kEof) {
      error_ = "connection closed before a complete response head (" + std::to_string(in_.size()) +
               " bytes buffered)";
    }
    if (status != ReadStatus::kData) return std::nullopt;
  }
  HttpResponse response;
  if (!ParseHead(std::string_view(in_).substr(0, head_end), &response, &error_)) {
    return std::nullopt;
  }
  size_t body_start = head_end + 4;
  const bool no_body = head_request || response.status / 100 == 1 || response.status == 204 ||
                       response.status == 304;
  std::optional<std::string> length_text = response.Header("Content-Length");
  if (no_body) {
    in_.erase(0, body_start);
    return response;
  }
  if (length_text) {
    size_t length = 0;
    auto [end, ec] =
        std::from_chars(length_text->data(), length_text->data() + length_text->size(), length);
    if (ec != std::errc() || end != length_text->data() + length_text->size()) {
      error_ = "bad Content-Length: " + *length_text;
      return std::nullopt;
    }
    while (in_.size() < body_start + length) {
      ReadStatus status = ReadSome(deadline);
      if (status == ReadStatus::kEof) error_ = "connection closed inside a response body";
      if (status != ReadStatus::kData) return std::nullopt;
    }
    response.body = in_.substr(body_start, length);
    in_.erase(0, body_start + length);
    return response;
  }
  // No length: the body runs to the end of the connection (the node always sends a length).
  while (true) {
    ReadStatus status = ReadSome(deadline);
    if (status == ReadStatus::kEof) break;
    if (status != ReadStatus::kData) return std::nullopt;
  }
  response.body = in_.substr(body_start);
  in_.clear();
  return response;
}

std::optional<HttpResponse> HttpClient::RoundTrip(std::string_view request, bool head_request,
                                                  std::chrono::milliseconds timeout) {
  if (::testing::AssertionResult sent = Send(request, timeout); !sent) {
    error_ = sent.message();
    return std::nullopt;
  }
  return ReadResponse(head_request, timeout);
}

std::optional<std::string> HttpClient::ReadUntilClosed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  error_.clear();
  while (true) {
    ReadStatus status = ReadSome(deadline);
    if (status == ReadStatus::kEof) break;
    if (status != ReadStatus::kData) return std::nullopt;
  }
  return std::exchange(in_, std::string());
}

bool HttpClient::IsClosedByPeer(std::chrono::milliseconds timeout) {
  error_.clear();
  if (!in_.empty()) {
    error_ = std::to_string(in_.size()) + " unread bytes arrived before any end of stream";
    return false;
  }
  ReadStatus status = ReadSome(Clock::now() + timeout);
  if (status == ReadStatus::kData) {
    error_ = "received " + std::to_string(in_.size()) +
             " bytes instead of end of stream: " + in_.substr(0, 200);
  }
  return status == ReadStatus::kEof;
}

void HttpClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

void HttpClient::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

HttpClient ConnectTo(uint16_t port) {
  HttpClient client;
  ::testing::AssertionResult connected = client.Connect(port);
  if (!connected) ADD_FAILURE() << connected.message();
  return client;
}

::testing::AssertionResult ConnectAndSend(uint16_t port, int count, std::string_view request,
                                          std::vector<HttpClient>* clients) {
  for (int i = 0; i < count; ++i) {
    HttpClient client;
    ::testing::AssertionResult connected = client.Connect(port);
    if (!connected)
      return ::testing::AssertionFailure() << "client " << i << ": " << connected.message();
    ::testing::AssertionResult sent = client.Send(request);
    if (!sent) return ::testing::AssertionFailure() << "client " << i << ": " << sent.message();
    clients->push_back(std::move(client));
  }
  return ::testing::AssertionSuccess();
}

uint16_t UnusedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

std::string GetRequest(std::string_view target, std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string HeadRequest(std::string_view target) {
  return "HEAD " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

}  // namespace proxynode::testing
