#pragma once

// Decodes the body of one HTTP/1.1 message once its head is parsed (RFC 9112 6 and 7): no
// body, a fixed length, the chunked coding (size lines, extensions, CRLFs, trailers), or
// everything until the peer closes. Shared by the request and response parsers; a pure unit:
// bytes in, events out, no allocation.
//
// Usage: Start() with the framing the head gave, then Decode() with all unconsumed bytes,
// dropping ParseResult::consumed after each call. Body bytes come out as kBodyData views into
// the input; framing bytes are consumed without an event of their own. On peer EOF, Finish().
// Thread contract: not thread-safe; owned by its parser, in one loop thread.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "dataplane/http_syntax.h"

namespace proxynode {

// How the body of a message is delimited (RFC 9112 6.3).
enum class BodyFraming : uint8_t {
  kNone,           // no body at all (e.g. a response to HEAD, a 204 or a 304)
  kContentLength,  // exactly `length` bytes
  kChunked,        // Transfer-Encoding with chunked last
  kUntilClose,     // everything until the peer closes the connection (responses only)
};

struct BodyLimits {
  // Bound on the sum of chunk sizes, judged on each size line before its data is delivered.
  // A fixed length is judged by the head parser; an until-close body is not bounded here.
  uint64_t max_body_bytes = std::numeric_limits<uint64_t>::max();
  // Budget of the trailer section, its final empty line included.
  size_t max_trailer_bytes = 8192;
};

class HttpBodyDecoder {
 public:
  explicit HttpBodyDecoder(BodyLimits limits = {}) : limits_(limits) {}

  // Begins the body of a new message; `length` is used by kContentLength only.
  void Start(BodyFraming framing, uint64_t length = 0);

  // Consumes from `input` until one event: kBodyData (a view of the last bytes consumed),
  // kNeedMore (everything usable consumed; a partial size or trailer line stays unconsumed),
  // kMessageComplete or kError. Both of the last two repeat, consuming nothing, until Start().
  ParseResult Decode(std::string_view input);

  // The peer closed the connection and every byte received was given to Decode():
  // kMessageComplete if the body ends there (until-close, or already complete), else kError
  // kTruncated. Sticky like Decode()'s final events.
  ParseResult Finish();

  // Takes effect at once; a check already passed for the current chunk is not re-run.
  void set_limits(const BodyLimits& limits) { limits_ = limits; }

 private:
  enum class State : uint8_t {
    kFixed,
    kUntilClose,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone,
    kError
  };

  ParseResult DecodeChunkSize(std::string_view input);
  ParseResult DecodeTrailer(std::string_view input);
  ParseResult Fail(ParseError error);

  BodyLimits limits_;
  State state_ = State::kFixed;  // with nothing remaining: no body
  uint64_t remaining_ = 0;       // of the fixed body or of the current chunk
  uint64_t chunked_total_ = 0;   // sum of the chunk sizes so far, checked against the limit
  size_t trailer_bytes_ = 0;
  ParseError error_ = ParseError::kNone;  // the sticky error in State::kError
};

}  // namespace proxynode
