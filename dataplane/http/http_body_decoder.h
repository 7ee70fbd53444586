#pragma once

// Decodes the body of one HTTP/1.1 message once its head is parsed (RFC 9112 6 and 7): no
// body, a fixed length, the chunked coding (size lines, extensions, CRLFs, trailers), or
// everything until the peer closes. Shared by the request and response parsers; a pure unit:
// bytes in, events out, no allocation.
//
// Usage: Start() with the framing the head gave, then Decode() with all unconsumed bytes,
// dropping ParseResult::consumed after each call. Body bytes come out as kBodyData views into
// the input; framing bytes are consumed without an event of their own. On peer EOF, Finish().
// HeadThenBody is the course of a message around the decoder, which both parsers follow.
// Thread contract: not thread-safe; owned by its parser, in one loop thread.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "dataplane/http/http_syntax.h"

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

// The course of one message, as the request and response parsers share it: a head, which the
// parser parses itself once ScanHead() found its end, then a body, which the decoder decodes;
// or an error, sticky until the next message. The scan for the end of the head resumes where
// the last call left it, so a head arriving in pieces is scanned once.
class HeadThenBody {
 public:
  explicit HeadThenBody(BodyLimits limits) : body_(limits) {}

  // One Parse() of the parser: parse_head(input) in the head, the body's events once
  // StartBody() ran, and after Fail() its error again, consuming nothing.
  template <typename ParseHead>
  ParseResult Parse(std::string_view input, ParseHead parse_head) {
    switch (state_) {
      case State::kHead:
        return parse_head(input);
      case State::kBody:
        return body_.Decode(input);
      case State::kError:
        break;
    }
    return ParseResult{ParseEvent::kError, 0, {}, error_};
  }

  // The peer closed the connection: kError kTruncated in the head (and from then on), the
  // body's end in the body (see HttpBodyDecoder::Finish()), the sticky error after Fail().
  ParseResult Finish();

  // Looks for the end of the head in input[start..]; only the first max_bytes of input (start
  // included) can hold it. Once the head is all there: kHeadComplete with `consumed` the index
  // after its final LF, for the parser to parse the head block and report its own event.
  // Otherwise what Parse() returns: kNeedMore, consuming nothing, while the head is incomplete;
  // or, through Fail(), kHeaderTooLarge when it does not end within max_bytes, and for a bare
  // LF `bad_start_line` in the start line and kBadHeader in the fields.
  ParseResult ScanHead(std::string_view input, size_t start, size_t max_bytes,
                       ParseError bad_start_line);

  // The head is parsed: the body follows, delimited by `framing` (`length` for kContentLength).
  void StartBody(BodyFraming framing, uint64_t length) {
    body_.Start(framing, length);
    state_ = State::kBody;
  }

  // Enters the error state and returns `error` as the kError result to report.
  ParseResult Fail(ParseError error);

  // Back to the start of a head, with no error: for the next message, or for the next head of
  // the same one (a final response after an interim one).
  void StartHead() {
    state_ = State::kHead;
    head_scan_offset_ = 0;
    error_ = ParseError::kNone;
  }

  // In the head, with no byte of it scanned yet.
  bool AtHeadStart() const { return state_ == State::kHead && head_scan_offset_ == 0; }

  // Takes effect at once, as HttpBodyDecoder::set_limits().
  void set_body_limits(const BodyLimits& limits) { body_.set_limits(limits); }

 private:
  enum class State : uint8_t { kHead, kBody, kError };

  HttpBodyDecoder body_;
  State state_ = State::kHead;
  size_t head_scan_offset_ = 0;           // where the search for the end of the head resumes
  ParseError error_ = ParseError::kNone;  // the sticky error in State::kError
};

}  // namespace proxynode
