#pragma once

// A small blocking HTTP/1.1 client for integration tests: raw bytes out, parsed responses in.
// It speaks over a plain TCP socket to 127.0.0.1 so tests control every byte (pipelining,
// malformed requests, partial heads). Every read and write has a deadline, so a test that
// waits for something the node never sends fails instead of hanging.
//
// Thread contract: one client per thread; not thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace proxynode::testing {

inline constexpr std::chrono::milliseconds kDefaultIoTimeout{5000};

struct HttpResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as received
  std::string body;

  // The first header named `name` (case-insensitive), if any.
  std::optional<std::string> Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const { return Header(name).has_value(); }
  // True when a Connection header lists `close`.
  bool ConnectionClose() const;
};

class HttpClient {
 public:
  HttpClient() = default;
  ~HttpClient() { Close(); }
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects to 127.0.0.1:`port`.
  ::testing::AssertionResult Connect(uint16_t port,
                                     std::chrono::milliseconds timeout = kDefaultIoTimeout);
  // Writes all of `bytes` (normally one send() call).
  ::testing::AssertionResult Send(std::string_view bytes,
                                  std::chrono::milliseconds timeout = kDefaultIoTimeout);

  // Reads one response. `head_request`: the request was HEAD, so no body follows whatever
  // Content-Length says. A body without Content-Length runs to the end of the connection.
  // On failure returns nullopt and error() says why.
  std::optional<HttpResponse> ReadResponse(bool head_request = false,
                                           std::chrono::milliseconds timeout = kDefaultIoTimeout);

  // Send() then ReadResponse(); a failed send also gives nullopt, with error() set.
  std::optional<HttpResponse> RoundTrip(std::string_view request, bool head_request = false,
                                        std::chrono::milliseconds timeout = kDefaultIoTimeout);

  // Reads until the peer closes; returns every byte not yet consumed (nullopt on timeout,
  // reset or error).
  std::optional<std::string> ReadUntilClosed(std::chrono::milliseconds timeout = kDefaultIoTimeout);

  // True when the peer closes cleanly (read returns 0) within `timeout` with no byte before
  // the end of stream. Bytes that arrive instead make it false (they stay buffered).
  bool IsClosedByPeer(std::chrono::milliseconds timeout = kDefaultIoTimeout);

  // Half-closes: the node sees end of stream, responses can still arrive.
  void ShutdownWrite();
  void Close();

  bool connected() const { return fd_ >= 0; }
  // Bytes received and not consumed by a ReadResponse.
  const std::string& buffered() const { return in_; }
  const std::string& error() const { return error_; }

 private:
  enum class ReadStatus { kData, kEof, kTimeout, kError };
  // Appends what one recv() returns to in_, waiting until `deadline`.
  ReadStatus ReadSome(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool eof_ = false;
  std::string in_;
  std::string error_;
};

// A client already connected to `port` (the test fails if it cannot connect).
HttpClient ConnectTo(uint16_t port);

// Opens `count` connections to `port` and sends `request` on each, appending them to
// `clients` (nothing is read); fails at the first connection that cannot, saying which.
::testing::AssertionResult ConnectAndSend(uint16_t port, int count, std::string_view request,
                                          std::vector<HttpClient>* clients);

// A loopback port nothing listens on (bound, then released), for an upstream that refuses
// connects. Every listener in the tests binds port 0, so none takes it meanwhile.
uint16_t UnusedLoopbackPort();

// Plain requests for the common cases.
std::string GetRequest(std::string_view target = "/", std::string_view extra_headers = "");
std::string HeadRequest(std::string_view target = "/");

}  // namespace proxynode::testing
