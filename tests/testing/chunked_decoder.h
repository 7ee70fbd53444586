#pragma once

// A streaming decoder for HTTP/1.1 chunked bodies, for the test upstream (request bodies)
// and the test clients (response bodies): it takes bytes as they arrive, so a 100 MiB body
// passes through without being held.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace proxynode::testing {

// Decodes a chunked body as its bytes arrive (chunk extensions and trailers are skipped).
class ChunkedDecoder {
 public:
  enum class State { kMore, kDone, kError };
  // Consumes from the front of `*input`, appending decoded data to `*out`. Stops right after
  // the last chunk's trailer section (kDone: what follows stays in `*input`, e.g. the next
  // pipelined message), when `*input` is used up (kMore), or at a syntax error (kError).
  State Feed(std::string_view* input, std::string* out);
  State state() const { return state_; }
  const std::string& error() const { return error_; }

 private:
  enum class Step { kSizeLine, kData, kDataEnd, kTrailer };
  // Takes one CRLF-ended line from `*input` into line_; false until it is complete.
  bool TakeLine(std::string_view* input);

  Step step_ = Step::kSizeLine;
  State state_ = State::kMore;
  uint64_t left_in_chunk_ = 0;
  std::string line_;
  std::string error_;
};

// A whole chunked body decoded; nullopt unless it is complete and well-formed.
std::optional<std::string> DecodeChunked(std::string_view body);

}  // namespace proxynode::testing
