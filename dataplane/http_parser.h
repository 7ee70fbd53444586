#pragma once

// Strict, incremental HTTP/1.1 request parser (RFC 9112). A pure unit: bytes in, parse
// events out; no I/O, no allocation per header. One parser per connection, reused across
// the requests of that connection (Reset() between messages).
//
// Usage: call Parse() with all unconsumed bytes the connection holds. It consumes what it
// can (ParseResult::consumed) and the caller drops those bytes before the next call. The
// header block is parsed only once it is complete, so the caller keeps unconsumed bytes
// buffered. Thread contract: not thread-safe; owned by one connection in one loop thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxynode {

enum class HttpMethod : uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kOptions,
  kPatch,
  kTrace,
  kConnect,
  kOther
};

enum class HttpVersion : uint8_t { kHttp10, kHttp11 };

// Why a message was rejected. Each maps to one HTTP status (see StatusForParseError).
enum class ParseError : uint8_t {
  kNone,
  kBadRequestLine,             // 400: malformed method, target, version or spacing
  kUnsupportedVersion,         // 505: HTTP/2.0, HTTP/3, HTTP/1.x with x > 1 is treated as 1.1
  kBadHeader,                  // 400: bad name, whitespace before colon, obs-fold, NUL, bare CR/LF
  kMissingHost,                // 400: HTTP/1.1 request without exactly one Host header
  kBadContentLength,           // 400: non-numeric, overflowing, or duplicate Content-Length
  kConflictingFraming,         // 400: Content-Length together with Transfer-Encoding
  kBadTransferEncoding,        // 400: chunked not last, chunked twice, or TE in an HTTP/1.0 request
  kUnsupportedTransferCoding,  // 501: a coding other than chunked (e.g. gzip, chunked)
  kBadChunk,                   // 400: bad chunk size or extension, missing CRLF after chunk data
  kHeaderTooLarge,  // 431: header block (or trailer block) over max_header_bytes, or too many
                    // fields
  kBodyTooLarge,    // 413: declared or decoded body over max_body_bytes
};

// The HTTP status code a client gets for `error` (400, 413, 431, 501 or 505).
int StatusForParseError(ParseError error);
// A short stable name for stats and logs, e.g. "bad_header".
std::string_view ParseErrorName(ParseError error);

struct ParserLimits {
  size_t max_header_bytes = 8192;     // request line + header fields + final CRLF
  uint64_t max_body_bytes = 1 << 20;  // Content-Length or sum of chunk sizes
  size_t max_header_count = 100;      // header fields per message
};

// What the parser learned from the request line and headers.
struct RequestHead {
  HttpMethod method = HttpMethod::kGet;
  HttpVersion version = HttpVersion::kHttp11;
  std::string target;            // request-target as sent; capacity reused across requests
  bool keep_alive = true;        // after applying HTTP/1.0 and Connection rules
  bool chunked = false;          // Transfer-Encoding: chunked
  bool expect_continue = false;  // Expect: 100-continue
  uint64_t content_length = 0;   // 0 when chunked or absent
  size_t header_bytes = 0;       // size of the head block including final CRLF
};

enum class ParseEvent : uint8_t {
  kNeedMore,         // all input consumed (or kept) and more bytes are needed
  kHeadComplete,     // head() is valid; body (if any) follows in later calls
  kBodyData,         // ParseResult::body holds decoded body bytes (a view into the input)
  kMessageComplete,  // the message (head + body + trailers) is fully consumed
  kError,            // ParseResult::error says why; the connection must be closed after replying
};

struct ParseResult {
  ParseEvent event = ParseEvent::kNeedMore;
  size_t consumed = 0;    // bytes of the input the caller must drop
  std::string_view body;  // only for kBodyData: points into the input passed to Parse()
  ParseError error = ParseError::kNone;
};

class HttpRequestParser {
 public:
  explicit HttpRequestParser(ParserLimits limits = {}) : limits_(limits) {}

  // Consumes from `input` until one event happens. A message yields, in order: kHeadComplete,
  // zero or more kBodyData, kMessageComplete. After kMessageComplete call Reset() before the
  // next message (pipelined bytes stay unconsumed in the caller's buffer). After kError the
  // parser stays in the error state until Reset().
  ParseResult Parse(std::string_view input);

  // Prepares for the next message on the same connection; keeps `target` capacity.
  void Reset();

  // Changes the limits at once (live config updates); the connection calls it between
  // messages, and checks already passed for the current message are not re-run.
  void set_limits(const ParserLimits& limits) { limits_ = limits; }

  const RequestHead& head() const { return head_; }

  // True while no byte of the current message has been consumed (idle between requests).
  bool AtMessageStart() const { return state_ == State::kHead && head_scan_offset_ == 0; }

 private:
  enum class State : uint8_t {
    kHead,
    kBodyFixed,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kDone,
    kError
  };

  ParseResult ParseHead(std::string_view input);
  ParseResult ParseChunkSize(std::string_view input);
  ParseResult ParseTrailers(std::string_view input);
  ParseResult Fail(ParseError error);

  ParserLimits limits_;
  RequestHead head_;
  State state_ = State::kHead;
  size_t head_scan_offset_ = 0;  // where the search for the end of the head resumes
  uint64_t body_remaining_ = 0;  // of the fixed body or of the current chunk
  uint64_t body_received_ = 0;   // decoded body bytes so far (chunked), checked against the limit
  size_t trailer_bytes_ = 0;
  ParseError error_ = ParseError::kNone;  // the sticky error in State::kError
};

}  // namespace proxynode
