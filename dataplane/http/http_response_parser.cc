#include "dataplane/http/http_response_parser.h"

#include <algorithm>

namespace proxynode {
namespace {

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
                       const http_syntax::FramingFields& facts) {
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
  http_syntax::FramingFields facts;
  while (true) {
    const std::string_view line = http_syntax::NextHeadLine(block, &pos);
    if (line.empty()) break;
    std::string_view name;
    std::string_view value;
    if (!http_syntax::SplitField(line, &name, &value)) return ParseError::kBadHeader;
    if (ParseError error = http_syntax::ApplyFramingField(
            name, value, http_syntax::AfterChunked::kNotChunked, &facts);
        error != ParseError::kNone) {
      return error;
    }
  }

  if (ParseError error = http_syntax::CheckFramingFields(facts, head->version);
      error != ParseError::kNone) {
    return error;
  }
  head->framing = FramingFor(*head, request_was_head, facts);
  head->has_content_length = facts.has_content_length;
  head->content_length = facts.content_length;
  head->keep_alive = http_syntax::ConnectionPersists(facts, head->version) &&
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
    : limits_(limits), message_(BodyLimitsFor(limits)) {}

void HttpResponseParser::Reset(bool request_was_head) {
  head_ = UpstreamResponseHead{};
  message_.StartHead();
  request_was_head_ = request_was_head;
  interim_seen_ = false;
}

ParseResult HttpResponseParser::Parse(std::string_view input) {
  return message_.Parse(input, [this](std::string_view head) { return ParseHead(head); });
}

ParseResult HttpResponseParser::Finish() { return message_.Finish(); }

ParseResult HttpResponseParser::ParseHead(std::string_view input) {
  size_t skipped = 0;  // bytes of interim responses consumed in this call
  while (true) {
    const std::string_view rest = input.substr(skipped);
    if (!CouldStartStatusLine(rest)) return message_.Fail(ParseError::kBadStatusLine);
    ParseResult scan =
        message_.ScanHead(rest, 0, limits_.max_header_bytes, ParseError::kBadStatusLine);
    if (scan.event == ParseEvent::kNeedMore) scan.consumed = skipped;
    if (scan.event != ParseEvent::kHeadComplete) return scan;
    const size_t end = scan.consumed;
    if (ParseError error = ParseHeadBlock(rest.substr(0, end), request_was_head_, &head_);
        error != ParseError::kNone) {
      return message_.Fail(error);
    }
    if (head_.status >= 200) {
      message_.StartBody(head_.framing, head_.content_length);
      return ParseResult{ParseEvent::kHeadComplete, skipped + end, {}, ParseError::kNone};
    }
    // An interim response: its head is all there is (RFC 9110 15.2). Look for the next.
    skipped += end;
    message_.StartHead();
    interim_seen_ = true;
  }
}

}  // namespace proxynode
