#pragma once

// Strict, incremental HTTP/1.1 response parser (RFC 9112) for the responses of upstream
// servers. A pure unit like HttpRequestParser: bytes in, parse events out; no I/O, no
// allocation. One parser per upstream connection, Reset() before each response.
//
// Usage: call Parse() with all unconsumed bytes the connection holds and drop
// ParseResult::consumed bytes after each call. A response yields kHeadComplete, zero or more
// kBodyData, then kMessageComplete; on upstream EOF call Finish(). Interim 1xx responses
// (100 Continue, 103 Early Hints, ...) are consumed and skipped: only the final response's
// head is reported. The body is not bounded: the proxy streams it.
// Thread contract: not thread-safe; owned by one upstream exchange in one loop thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/http/http_body_decoder.h"
#include "dataplane/http/http_syntax.h"

namespace proxynode {

struct ResponseParserLimits {
  // Status line + fields + final CRLF, for each response (interim ones too); also the budget
  // of a chunked body's trailer section.
  size_t max_header_bytes = 64 * 1024;
};

// What the parser learned from the status line and fields of the final response. The
// reason-phrase and the fields themselves are in the raw head block (see RawHead()).
struct UpstreamResponseHead {
  int status = 0;  // 100-599, never 1xx once reported
  HttpVersion version = HttpVersion::kHttp11;
  // The connection can carry another request afterwards (RFC 9112 9.3): HTTP/1.1 unless
  // Connection: close, HTTP/1.0 only with Connection: keep-alive, never for an until-close body.
  bool keep_alive = true;
  BodyFraming framing = BodyFraming::kNone;  // RFC 9112 6.3
  // The Content-Length field, 0 when absent. It frames the body only with kContentLength; in
  // a response to HEAD or a 304 it is the length a GET would have had.
  bool has_content_length = false;
  uint64_t content_length = 0;
  size_t header_bytes = 0;  // size of the raw head block, final CRLF included
};

class HttpResponseParser {
 public:
  explicit HttpResponseParser(ResponseParserLimits limits = {});

  // Prepares for the response to the next request. A response to HEAD has no body, whatever
  // its fields say.
  void Reset(bool request_was_head);

  // Consumes from `input` until one event happens (see the file comment). kNeedMore may
  // consume skipped interim responses and body framing. After kMessageComplete or kError the
  // same event repeats, consuming nothing, until Reset().
  ParseResult Parse(std::string_view input);

  // The upstream closed the connection, and every byte it sent was given to Parse():
  // kMessageComplete for an until-close body (or a response already complete), otherwise
  // kError kTruncated. Sticky like Parse()'s final events.
  ParseResult Finish();

  // For a kHeadComplete `result` of Parse(input): the raw head block (status line through
  // the empty line), to copy before dropping result.consumed bytes. It is the end of the
  // consumed span; it is all of input.substr(0, result.consumed) unless interim responses
  // were skipped in the same call, which come before it.
  std::string_view RawHead(std::string_view input, const ParseResult& result) const {
    return input.substr(result.consumed - head_.header_bytes, head_.header_bytes);
  }

  // Valid from kHeadComplete until Reset().
  const UpstreamResponseHead& head() const { return head_; }

  // True while no byte of the response has been seen: an upstream that closes now sent
  // nothing (e.g. a pooled keep-alive connection it had already timed out).
  bool AtMessageStart() const { return message_.AtHeadStart() && !interim_seen_; }

 private:
  ParseResult ParseHead(std::string_view input);

  ResponseParserLimits limits_;
  UpstreamResponseHead head_;
  HeadThenBody message_;
  bool request_was_head_ = false;
  bool interim_seen_ = false;  // a 1xx response was skipped
};

}  // namespace proxynode
