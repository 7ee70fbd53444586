#pragma once

// A client connection whose bodies stream, for the proxy tests with 100 MiB bodies: it sends
// request bodies generated from the pattern (body_pattern.h) and folds response bodies into a
// digest, so the test never holds either. It can also pause mid-body, as a slow reader.
//
// Thread contract: one thread sends and reads; sent() may be read from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/body_pattern.h"

namespace proxynode::testing {

// A response read off a raw socket, its body passed through a digest rather than kept.
struct StreamedResponse {
  int status = 0;
  std::string head;  // status line and fields, CRLF-separated
  BodyDigest body;
  bool chunked = false;
  bool has_length = false;

  // True when the head holds the field line `line` exactly, e.g. "Connection: close".
  bool HasField(std::string_view line) const;
};

// One client connection whose bodies stream: sent from the pattern, received into a digest.
class StreamClient {
 public:
  ::testing::AssertionResult Connect(uint16_t port);

  ::testing::AssertionResult Send(std::string_view bytes, std::chrono::milliseconds timeout);

  // Sends `size` pattern bytes as a body, raw or as chunks of 64 KiB (then the last chunk).
  ::testing::AssertionResult SendPatternBody(uint64_t size, bool chunked,
                                             std::chrono::milliseconds timeout);

  // Reads one response. After `pause_after` body bytes, stops reading for `pause` (a slow
  // client: what the node then holds is what backpressure must bound). A body without length
  // or chunks runs to the end of the connection.
  std::optional<StreamedResponse> ReadResponse(
      std::chrono::milliseconds timeout, uint64_t pause_after = UINT64_MAX,
      std::chrono::milliseconds pause = std::chrono::milliseconds(0));

  uint64_t sent() const { return sent_.load(); }
  const std::string& error() const { return error_; }

 private:
  // Reads what arrives into in_; false at end of stream, on an error or at `deadline`.
  bool Fill(abuse::Clock::time_point deadline);

  abuse::RawSocket socket_;
  std::string in_;
  bool eof_ = false;
  std::atomic<uint64_t> sent_{0};
  std::string error_;
};

}  // namespace proxynode::testing
