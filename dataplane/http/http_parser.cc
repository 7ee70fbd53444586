#include "dataplane/http/http_parser.h"

#include <utility>

namespace proxynode {
namespace {

using http_syntax::EqualsIgnoreCase;
using http_syntax::kNpos;

// RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
// A few are tolerated (some clients send CRLF after a body); more is garbage.
constexpr int kMaxLeadingEmptyLines = 4;

// What the fields said; validated as a whole once the head is complete.
struct HeadFacts {
  http_syntax::FramingFields framing;
  size_t host_count = 0;
  bool expect_continue = false;
};

ParseError ApplyField(std::string_view name, std::string_view value, HeadFacts* facts) {
  if (EqualsIgnoreCase(name, "host")) {
    ++facts->host_count;
  } else if (EqualsIgnoreCase(name, "expect")) {
    if (EqualsIgnoreCase(value, "100-continue")) facts->expect_continue = true;
  } else {
    return http_syntax::ApplyFramingField(name, value, http_syntax::AfterChunked::kNothing,
                                          &facts->framing);
  }
  return ParseError::kNone;
}

// request-line = method SP request-target SP HTTP-version, exactly one SP each.
ParseError ParseRequestLine(std::string_view line, RequestHead* head) {
  const size_t sp1 = line.find(' ');
  if (sp1 == kNpos || !http_syntax::IsToken(line.substr(0, sp1))) {
    return ParseError::kBadRequestLine;
  }
  const std::string_view rest = line.substr(sp1 + 1);
  const size_t sp2 = rest.find(' ');
  if (sp2 == kNpos || sp2 == 0) return ParseError::kBadRequestLine;
  const std::string_view target = rest.substr(0, sp2);
  if (!http_syntax::AllBytes(target, [](char c) { return http_syntax::IsVchar(c); })) {
    return ParseError::kBadRequestLine;
  }
  http_syntax::VersionNumber version;
  if (!http_syntax::ParseHttpVersion(rest.substr(sp2 + 1), &version)) {
    return ParseError::kBadRequestLine;
  }
  if (version.major != 1) return ParseError::kUnsupportedVersion;
  // HTTP/1.x with x > 1 is answered as 1.1, the highest minor we implement (RFC 9110 2.5).
  head->version = version.minor == 0 ? HttpVersion::kHttp10 : HttpVersion::kHttp11;
  head->method = MethodFromString(line.substr(0, sp1));
  head->target.assign(target);
  return ParseError::kNone;
}

// Parses a complete head block (request line through the empty line); every LF in it is
// already known to be preceded by CR.
ParseError ParseHeadBlock(std::string_view block, const ParserLimits& limits, RequestHead* head) {
  size_t pos = 0;
  if (ParseError error = ParseRequestLine(http_syntax::NextHeadLine(block, &pos), head);
      error != ParseError::kNone) {
    return error;
  }
  HeadFacts facts;
  size_t count = 0;
  while (true) {
    const std::string_view line = http_syntax::NextHeadLine(block, &pos);
    if (line.empty()) break;
    if (++count > limits.max_header_count) return ParseError::kHeaderTooLarge;
    std::string_view name;
    std::string_view value;
    if (!http_syntax::SplitField(line, &name, &value)) return ParseError::kBadHeader;
    if (ParseError error = ApplyField(name, value, &facts); error != ParseError::kNone) {
      return error;
    }
  }

  const http_syntax::FramingFields& framing = facts.framing;
  if (ParseError error = http_syntax::CheckFramingFields(framing, head->version);
      error != ParseError::kNone) {
    return error;
  }
  const bool http10 = head->version == HttpVersion::kHttp10;
  const bool has_transfer_encoding = framing.codings.present;
  if (has_transfer_encoding) {
    // RFC 9112 6.3: without chunked last the body length is unknowable, which is a 400.
    if (!framing.codings.chunked_last) return ParseError::kBadTransferEncoding;
    if (framing.codings.other) return ParseError::kUnsupportedTransferCoding;  // only chunked
  }
  if (facts.host_count > 1 || (!http10 && facts.host_count == 0)) return ParseError::kMissingHost;
  if (framing.content_length > limits.max_body_bytes) return ParseError::kBodyTooLarge;

  head->chunked = has_transfer_encoding;
  head->content_length = framing.content_length;
  head->expect_continue = !http10 && facts.expect_continue;
  head->keep_alive = http_syntax::ConnectionPersists(framing, head->version);
  return ParseError::kNone;
}

}  // namespace

HttpMethod MethodFromString(std::string_view method) {
  static constexpr std::pair<std::string_view, HttpMethod> kMethods[] = {
      {"GET", HttpMethod::kGet},         {"HEAD", HttpMethod::kHead},
      {"POST", HttpMethod::kPost},       {"PUT", HttpMethod::kPut},
      {"DELETE", HttpMethod::kDelete},   {"OPTIONS", HttpMethod::kOptions},
      {"PATCH", HttpMethod::kPatch},     {"TRACE", HttpMethod::kTrace},
      {"CONNECT", HttpMethod::kConnect},
  };
  for (const auto& [text, value] : kMethods) {
    if (method == text) return value;  // methods are case-sensitive (RFC 9110 9.1)
  }
  return HttpMethod::kOther;
}

ParseResult HttpRequestParser::Parse(std::string_view input) {
  return message_.Parse(input, [this](std::string_view head) { return ParseHead(head); });
}

ParseResult HttpRequestParser::ParseHead(std::string_view input) {
  size_t start = 0;
  for (int i = 0; i < kMaxLeadingEmptyLines && input.size() - start >= 2 && input[start] == '\r' &&
                  input[start + 1] == '\n';
       ++i) {
    start += 2;
  }
  const ParseResult scan =
      message_.ScanHead(input, start, limits_.max_header_bytes, ParseError::kBadRequestLine);
  if (scan.event != ParseEvent::kHeadComplete) return scan;
  const size_t end = scan.consumed;

  if (ParseError error = ParseHeadBlock(input.substr(start, end - start), limits_, &head_);
      error != ParseError::kNone) {
    return message_.Fail(error);
  }
  head_.header_bytes = end;
  // A chunked head has no content_length (both at once is kConflictingFraming).
  message_.StartBody(head_.chunked ? BodyFraming::kChunked : BodyFraming::kContentLength,
                     head_.content_length);
  return ParseResult{ParseEvent::kHeadComplete, end, {}, ParseError::kNone};
}

void HttpRequestParser::Reset() {
  std::string target = std::move(head_.target);
  target.clear();  // keeps capacity for the next request
  head_ = RequestHead{};
  head_.target = std::move(target);
  message_.StartHead();
}

}  // namespace proxynode
