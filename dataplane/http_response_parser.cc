#include "dataplane/http_response_parser.h"

#include <algorithm>

namespace proxynode {
namespace {

using http_syntax::EqualsIgnoreCase;

// What the framing-relevant fields said; judged as a whole once the head is complete.
struct FieldFacts {
  bool has_content_length = false;
  uint64_t content_length = 0;
  http_syntax::TransferCodings codings;
  bool connection_close = false;
  bool connection_keep_alive = false;
};

ParseError ApplyField(std::string_view name, std::string_view value, FieldFacts* facts) {
  if (EqualsIgnoreCase(name, "content-length")) {
    // A second field is rejected even when the values agree: we do not guess.
    if (facts->has_content_length ||
        !http_syntax::ParseContentLength(value, &facts->content_length)) {
      return ParseError::kBadContentLength;
    }
    facts->has_content_length = true;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    http_syntax::AddTransferEncoding(value, &facts->codings);
    // Codings after chunked are legal in a response (it then ends at close), chunked twice
    // is not (RFC 9112 6.1).
    if (facts->codings.malformed || facts->codings.chunked_count > 1) {
      return ParseError::kBadTransferEncoding;
    }
  } else if (EqualsIgnoreCase(name, "connection")) {
    http_syntax::ForEachListElement(value, [&](std::string_view option) {
      if (EqualsIgnoreCase(option, "close")) facts->connection_close = true;
      if (EqualsIgnoreCase(option, "keep-alive")) facts->connection_keep_alive = true;
    });
  }
  return ParseError::kNone;
}

// Fails fast on an upstream that does not speak HTTP/1.x, instead of waiting for a head end.
bool CouldStartStatusLine(std::string_view input) {
  constexpr std::string_view kPrefix = "HTTP/";
  const size_t n = std::min(input.size(), kPrefix.size());
  return input.substr(0, n) == kPrefix.substr(0, n);
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4). The SP before
// an empty reason-phrase may be missing: harmless, and some servers omit it.
ParseError ParseStatusLine(std::string_view line, UpstreamResponseHead* head) {
  constexpr size_t kCodeAt = 9;  // after "HTTP/1.1 "
  http_syntax::VersionNumber version;
  if (line.size() < kCodeAt + 3 || line[kCodeAt - 1] != ' ' ||
      !http_syntax::ParseHttpVersion(line.substr(0, kCodeAt - 1), &version) || version.major != 1) {
    return ParseError::kBadStatusLine;
  }
  const std::string_view code = line.substr(kCodeAt, 3);
  // RFC 9110 15: every valid status code is within 100-599.
  if (code[0] < '1' || code[0] > '5' ||
      !http_syntax::AllBytes(code, [](char c) { return http_syntax::IsDigit(c); })) {
    return ParseError::kBadStatusLine;
  }
  const std::string_view after_code = line.substr(kCodeAt + 3);
  if (!after_code.empty() &&
      (after_code[0] != ' ' || !http_syntax::AllBytes(after_code, [](char c) {
         return http_syntax::IsFieldValueChar(c);
       }))) {
    return ParseError::kBadStatusLine;
  }
  head->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  head->version = version.minor == 0 ? HttpVersion::kHttp10 : HttpVersion::kHttp11;
  return ParseError::kNone;
}

// How the body is delimited (RFC 9112 6.3), once the fields passed their checks.
BodyFraming FramingFor(const UpstreamResponseHead& head, bool request_was_head,
                       const FieldFacts& facts) {
  if (request_was_head || head.status < 200 || head.status == 204 || head.status == 304) {
    return BodyFraming::kNone;
  }
  if (facts.codings.present) {
    return facts.codings.chunked_last ? BodyFraming::kChunked : BodyFraming::kUntilClose;
  }
  if (facts.has_content_length) return BodyFraming::kContentLength;
  return BodyFraming::kUntilClose;
}

// Parses a complete head block (status line through the empty line); every LF in it is
// already known to be preceded by CR.
ParseError ParseHeadBlock(std::string_view block, bool request_was_head,
                          UpstreamResponseHead* head) {
  size_t pos = 0;
  if (ParseError error = ParseStatusLine(http_syntax::NextHeadLine(block, &pos), head);
      error != ParseError::kNone) {
    return error;
  }
  if (head->status == 101) return ParseError::kSwitchingProtocols;
  FieldFacts facts;
  while (true) {
    const std::string_view line = http_syntax::NextHeadLine(block, &pos);
    if (line.empty()) break;
    std::string_view name;
    std::string_view value;
    if (!http_syntax::SplitField(line, &name, &value)) return ParseError::kBadHeader;
    if (ParseError error = ApplyField(name, value, &facts); error != ParseError::kNone) {
      return error;
    }
  }

  // Both framings at once is how responses get smuggled past a cache or a client.
  if (facts.has_content_length && facts.codings.present) return ParseError::kConflictingFraming;
  // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  if (facts.codings.present && head->version == HttpVersion::kHttp10) {
    return ParseError::kBadTransferEncoding;
  }
  head->framing = FramingFor(*head, request_was_head, facts);
  head->has_content_length = facts.has_content_length;
  head->content_length = facts.content_length;
  const bool http10 = head->version == HttpVersion::kHttp10;
  head->keep_alive = !facts.connection_close && (!http10 || facts.connection_keep_alive) &&
                     head->framing != BodyFraming::kUntilClose;
  head->header_bytes = block.size();
  return ParseError::kNone;
}

// The body is streamed, so unbounded; a trailer section may be as large as a head.
BodyLimits BodyLimitsFor(const ResponseParserLimits& limits) {
  BodyLimits body;
  body.max_trailer_bytes = limits.max_header_bytes;
  return body;
}

}  // namespace

HttpResponseParser::HttpResponseParser(ResponseParserLimits limits)
    : limits_(limits), body_(BodyLimitsFor(limits)) {}

void HttpResponseParser::Reset(bool request_was_head) {
  head_ = UpstreamResponseHead{};
  state_ = State::kHead;
  request_was_head_ = request_was_head;
  interim_seen_ = false;
  head_scan_offset_ = 0;
  error_ = ParseError::kNone;
}

ParseResult HttpResponseParser::Parse(std::string_view input) {
  switch (state_) {
    case State::kHead:
      return ParseHead(input);
    case State::kBody:
      return body_.Decode(input);
    case State::kError:
      break;
  }
  return ParseResult{ParseEvent::kError, 0, {}, error_};
}

ParseResult HttpResponseParser::Finish() {
  switch (state_) {
    case State::kHead:
      return Fail(ParseError::kTruncated);
    case State::kBody:
      return body_.Finish();
    case State::kError:
      break;
  }
  return ParseResult{ParseEvent::kError, 0, {}, error_};
}

ParseResult HttpResponseParser::ParseHead(std::string_view input) {
  size_t skipped = 0;  // bytes of interim responses consumed in this call
  while (true) {
    const std::string_view rest = input.substr(skipped);
    if (!CouldStartStatusLine(rest)) return Fail(ParseError::kBadStatusLine);
    const http_syntax::HeadEnd end =
        http_syntax::FindHeadEnd(rest, 0, head_scan_offset_, limits_.max_header_bytes);
    switch (end.status) {
      case http_syntax::HeadEnd::Status::kFound:
        break;
      case http_syntax::HeadEnd::Status::kIncomplete:
        head_scan_offset_ = end.position;
        return ParseResult{ParseEvent::kNeedMore, skipped, {}, ParseError::kNone};
      case http_syntax::HeadEnd::Status::kTooLarge:
        return Fail(ParseError::kHeaderTooLarge);
      case http_syntax::HeadEnd::Status::kBareLfInStartLine:
        return Fail(ParseError::kBadStatusLine);
      case http_syntax::HeadEnd::Status::kBareLfInFields:
        return Fail(ParseError::kBadHeader);
    }
    if (ParseError error = ParseHeadBlock(rest.substr(0, end.position), request_was_head_, &head_);
        error != ParseError::kNone) {
      return Fail(error);
    }
    if (head_.status >= 200) {
      body_.Start(head_.framing, head_.content_length);
      state_ = State::kBody;
      return ParseResult{ParseEvent::kHeadComplete, skipped + end.position, {}, ParseError::kNone};
    }
    // An interim response: its head is all there is (RFC 9110 15.2). Look for the next.
    skipped += end.position;
    head_scan_offset_ = 0;
    interim_seen_ = true;
  }
}

ParseResult HttpResponseParser::Fail(ParseError error) {
  state_ = State::kError;
  error_ = error;  // replayed by later calls
  return ParseResult{ParseEvent::kError, 0, {}, error};
}

}  // namespace proxynode
