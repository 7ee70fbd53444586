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

#include "dataplane/http/http_body_decoder.h"
#include "dataplane/http/http_syntax.h"

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

struct ParserLimits {
  // Request line + header fields + final CRLF. A request line that alone runs over it is
  // kTargetTooLong (414): its target is what makes a request line long. RFC 9112 3 asks for
  // request lines of 8000 octets at least, which the default allows.
  size_t max_header_bytes = 8192;
  uint64_t max_body_bytes = 1 << 20;  // Content-Length or sum of chunk sizes
  size_t max_header_count = 100;      // header fields per message
};

// How the request-target was written (RFC 9112 3.2). Each method takes the forms it may:
// authority-form is CONNECT's alone (which the node refuses, 501), asterisk-form OPTIONS's.
enum class TargetForm : uint8_t {
  kOrigin,    // "/path?query"
  kAbsolute,  // "http://host:port/path?query" (what a client sends to a proxy)
  kAsterisk,  // "*": OPTIONS about the server itself
};

// What the parser learned from the request line and headers.
struct RequestHead {
  HttpMethod method = HttpMethod::kGet;
  HttpVersion version = HttpVersion::kHttp11;
  // The request-target in origin-form, as routes and fault rules match it and as it goes
  // upstream: as sent, or an absolute-form target's path and query ("/" when its path is
  // empty, RFC 9112 3.2.1); "*" in asterisk-form. Capacity reused across requests.
  std::string target;
  TargetForm target_form = TargetForm::kOrigin;
  // An absolute-form target's authority ("host:port"), which takes the Host field's place
  // (RFC 9112 3.2.2); empty otherwise. Capacity reused across requests.
  std::string authority;
  bool keep_alive = true;        // after applying HTTP/1.0 and Connection rules
  bool chunked = false;          // Transfer-Encoding: chunked
  bool expect_continue = false;  // Expect: 100-continue
  uint64_t content_length = 0;   // 0 when chunked or absent
  size_t header_bytes = 0;       // size of the head block including final CRLF
};

// The method a request line names (case-sensitive, RFC 9110 9.1); kOther when unknown.
HttpMethod MethodFromString(std::string_view method);

class HttpRequestParser {
 public:
  explicit HttpRequestParser(ParserLimits limits = {})
      : limits_(limits), message_(BodyLimitsFor(limits)) {}

  // Consumes from `input` until one event happens. A message yields, in order: kHeadComplete,
  // zero or more kBodyData, kMessageComplete. After kMessageComplete call Reset() before the
  // next message (pipelined bytes stay unconsumed in the caller's buffer). After kError the
  // parser stays in the error state until Reset().
  ParseResult Parse(std::string_view input);

  // Prepares for the next message on the same connection; keeps the capacity of `target`
  // and `authority`.
  void Reset();

  // Changes the limits at once (live config updates); the connection calls it between
  // messages, and checks already passed for the current message are not re-run.
  void set_limits(const ParserLimits& limits) {
    limits_ = limits;
    message_.set_body_limits(BodyLimitsFor(limits));
  }

  const RequestHead& head() const { return head_; }

  // True while no byte of the current message has been consumed (idle between requests).
  bool AtMessageStart() const { return message_.AtHeadStart(); }

 private:
  // The body's limits: max_body_bytes, and a trailer section as large as a head.
  static BodyLimits BodyLimitsFor(const ParserLimits& limits) {
    return BodyLimits{limits.max_body_bytes, limits.max_header_bytes};
  }

  ParseResult ParseHead(std::string_view input);

  ParserLimits limits_;
  RequestHead head_;
  HeadThenBody message_;
};

}  // namespace proxynode
