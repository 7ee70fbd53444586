#include "dataplane/http/http_parser.h"

#include <algorithm>
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

// authority = host [":" port] (RFC 3986 3.2), without userinfo: RFC 9110 4.2.4 has a
// recipient treat "user@" as an error (it is how phishing targets hide their host).
bool IsValidAuthority(std::string_view authority) {
  auto reg_name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || http_syntax::IsDigit(c) ||
           std::string_view("-._~%!$&'()*+,;=").find(c) != kNpos;
  };
  size_t host_end = 0;
  if (authority.starts_with('[')) {  // IP-literal
    host_end = authority.find(']');
    if (host_end == kNpos || host_end == 1 ||
        !http_syntax::AllBytes(authority.substr(1, host_end - 1), [](char c) {
          return http_syntax::IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                 c == ':' || c == '.';
        })) {
      return false;
    }
    ++host_end;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
    if (host_end == 0 || !http_syntax::AllBytes(authority.substr(0, host_end), reg_name_char)) {
      return false;
    }
  }
  const std::string_view port = authority.substr(host_end);
  return port.empty() || (port.front() == ':' && http_syntax::AllBytes(port.substr(1), [](char c) {
                            return http_syntax::IsDigit(c);
                          }));
}

// request-target (RFC 9112 3.2), already known to be visible bytes: origin-form, absolute-form
// (http or https) kept as its path and query plus its authority, or asterisk-form for OPTIONS.
// Anything else, authority-form included (CONNECT's, refused before this), is a bad target.
ParseError ParseTarget(std::string_view target, RequestHead* head) {
  head->authority.clear();
  if (target.starts_with('/')) {
    head->target_form = TargetForm::kOrigin;
    head->target.assign(target);
    return ParseError::kNone;
  }
  if (target == "*") {
    if (head->method != HttpMethod::kOptions) return ParseError::kBadRequestLine;
    head->target_form = TargetForm::kAsterisk;
    // Not assign(target): GCC 12 at -O3 warns that copying a string known to be one byte may
    // overlap (-Wrestrict, a false positive: GCC bug 105329).
    head->target.assign(1, '*');
    return ParseError::kNone;
  }
  const size_t scheme_end = target.find("://");
  if (scheme_end == kNpos) return ParseError::kBadRequestLine;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) {
    return ParseError::kBadRequestLine;
  }
  const std::string_view rest = target.substr(scheme_end + 3);
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view path_and_query = rest.substr(authority_end);
  // A fragment is no part of a request-target.
  if (!IsValidAuthority(authority) || path_and_query.find('#') != kNpos) {
    return ParseError::kBadRequestLine;
  }
  head->target_form = TargetForm::kAbsolute;
  head->authority.assign(authority);
  head->target.clear();
  if (!path_and_query.starts_with('/')) head->target.push_back('/');
  head->target.append(path_and_query);
  return ParseError::kNone;
}

// The head ran over max_header_bytes before its request line ended (`line` is what of it
// came within the limit): a long target is 414, anything else no request line at all.
ParseError OverlongRequestLine(std::string_view line) {
  const size_t sp1 = line.find(' ');
  if (sp1 == kNpos || !http_syntax::IsToken(line.substr(0, sp1))) {
    return ParseError::kBadRequestLine;
  }
  // A second SP ended the target: then the version is what runs on.
  return line.find(' ', sp1 + 1) == kNpos ? ParseError::kTargetTooLong
                                          : ParseError::kBadRequestLine;
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
  if (head->method == HttpMethod::kConnect) return ParseError::kConnectUnsupported;
  return ParseTarget(target, head);
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
  if (scan.error == ParseError::kHeaderTooLarge) {
    // Over the limit: 414 when the request line alone did not fit (decided on the bytes
    // within the limit only, so the same however the head arrived).
    const std::string_view within = input.substr(0, limits_.max_header_bytes);
    if (start >= within.size() || within.find("\r\n", start) == kNpos) {
      return message_.Fail(OverlongRequestLine(within.substr(std::min(start, within.size()))));
    }
  }
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
  std::string authority = std::move(head_.authority);
  target.clear();  // both keep their capacity for the next request
  authority.clear();
  head_ = RequestHead{};
  head_.target = std::move(target);
  head_.authority = std::move(authority);
  message_.StartHead();
}

}  // namespace proxynode
