#include "dataplane/http_parser.h"

#include <algorithm>
#include <array>
#include <utility>

namespace proxynode {
namespace {

constexpr size_t kNpos = std::string_view::npos;
// RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
// A few are tolerated (some clients send CRLF after a body); more is garbage.
constexpr int kMaxLeadingEmptyLines = 4;
// Bounds one chunk-size line (size, extensions, CRLF) so extensions cannot grow unbounded.
constexpr size_t kMaxChunkLineBytes = 4096;
// 19 decimal digits are below 2^64 and 16 hex digits fill it, so neither can overflow.
constexpr size_t kMaxContentLengthDigits = 19;
constexpr size_t kMaxChunkSizeDigits = 16;

constexpr std::array<bool, 256> MakeTcharTable() {
  std::array<bool, 256> table{};
  for (char c = '0'; c <= '9'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'a'; c <= 'z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'A'; c <= 'Z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTchar = MakeTcharTable();  // RFC 9110 5.6.2

bool IsTchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }

// A plain loop over a lambda, not std::all_of with a function: GCC 12 at -O2 does not inline
// a function pointer through all_of, so each byte cost an indirect call (callgrind: about
// 12 instructions per header byte, 14% of a request's instructions).
template <typename Predicate>
bool AllBytes(std::string_view s, Predicate predicate) {
  for (char c : s) {
    if (!predicate(c)) return false;
  }
  return true;
}

bool IsToken(std::string_view s) {
  return !s.empty() && AllBytes(s, [](char c) { return IsTchar(c); });
}
bool IsWs(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsVchar(char c) { return c >= 0x21 && c <= 0x7E; }
bool IsObsText(char c) { return static_cast<unsigned char>(c) >= 0x80; }
// field-vchar, SP or HTAB: every CTL (NUL, bare CR, bare LF, ...) and DEL is rejected.
bool IsFieldValueChar(char c) { return c == '\t' || c == ' ' || IsVchar(c) || IsObsText(c); }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

size_t SkipToken(std::string_view s, size_t i) {
  while (i < s.size() && IsTchar(s[i])) ++i;
  return i;
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

// Calls fn(element) for every non-empty element of a comma-separated list, OWS trimmed
// (RFC 9110 5.6.1 lets recipients ignore empty elements). Returns how many were seen.
template <typename Fn>
size_t ForEachListElement(std::string_view list, Fn fn) {
  size_t count = 0;
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view element = TrimOws(list.substr(0, comma));
    if (!element.empty()) {
      ++count;
      fn(element);
    }
    if (comma == kNpos) return count;
    list.remove_prefix(comma + 1);
  }
}

// Skips a quoted-string starting at s[i] == '"'; returns the index after it or kNpos.
size_t SkipQuotedString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i >= s.size()) return kNpos;
      const char escaped = s[i];
      if (!(IsWs(escaped) || IsVchar(escaped) || IsObsText(escaped))) return kNpos;
    } else if (!(IsWs(c) || c == 0x21 || (c >= 0x23 && c <= 0x7E) || IsObsText(c))) {
      return kNpos;
    }
  }
  return kNpos;
}

// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) (RFC 9112 7.1.1).
// BWS is accepted because the grammar allows it; whitespace not followed by ';' or '='
// (e.g. trailing whitespace after the size) is rejected.
bool ValidChunkExtensions(std::string_view ext) {
  size_t i = 0;
  while (i < ext.size()) {
    i = SkipWs(ext, i);
    if (i >= ext.size() || ext[i] != ';') return false;
    i = SkipWs(ext, i + 1);
    const size_t name_end = SkipToken(ext, i);
    if (name_end == i) return false;
    i = name_end;
    size_t j = SkipWs(ext, i);
    if (j < ext.size() && ext[j] == '=') {
      j = SkipWs(ext, j + 1);
      if (j < ext.size() && ext[j] == '"') {
        j = SkipQuotedString(ext, j);
        if (j == kNpos) return false;
      } else {
        const size_t value_end = SkipToken(ext, j);
        if (value_end == j) return false;
        j = value_end;
      }
      i = j;
    }
  }
  return true;
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 5). The token check on the name
// rejects obs-fold (leading SP/HTAB), whitespace before the colon and empty names, all of
// which are request-smuggling vectors when intermediaries disagree.
ParseError SplitField(std::string_view line, std::string_view* name, std::string_view* value) {
  const size_t colon = line.find(':');
  if (colon == kNpos) return ParseError::kBadHeader;
  *name = line.substr(0, colon);
  if (!IsToken(*name)) return ParseError::kBadHeader;
  const std::string_view raw = line.substr(colon + 1);
  if (!AllBytes(raw, [](char c) { return IsFieldValueChar(c); })) return ParseError::kBadHeader;
  *value = TrimOws(raw);
  return ParseError::kNone;
}

// What the framing-relevant fields said; validated as a whole once the head is complete.
struct HeadFacts {
  size_t host_count = 0;
  bool has_content_length = false;
  bool has_transfer_encoding = false;
  bool te_chunked_last = false;  // the last transfer coding seen so far is chunked
  bool te_other = false;         // some coding other than chunked was listed
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool expect_continue = false;
  uint64_t content_length = 0;
};

ParseError ApplyTransferEncoding(std::string_view value, HeadFacts* facts) {
  ParseError error = ParseError::kNone;
  const size_t count = ForEachListElement(value, [&](std::string_view element) {
    const std::string_view coding = TrimOws(element.substr(0, element.find(';')));
    // Anything after chunked (including a second chunked) makes the framing ambiguous.
    if (!IsToken(coding) || facts->te_chunked_last) {
      error = ParseError::kBadTransferEncoding;
    } else if (EqualsIgnoreCase(coding, "chunked")) {
      if (coding.size() != element.size()) error = ParseError::kBadTransferEncoding;  // no params
      facts->te_chunked_last = true;
    } else {
      facts->te_other = true;
    }
  });
  if (count == 0) return ParseError::kBadTransferEncoding;
  facts->has_transfer_encoding = true;
  return error;
}

ParseError ApplyField(std::string_view name, std::string_view value, HeadFacts* facts) {
  if (EqualsIgnoreCase(name, "content-length")) {
    // 1*DIGIT only: a second field or a list is rejected even when the values agree.
    if (facts->has_content_length || value.empty() || value.size() > kMaxContentLengthDigits ||
        !AllBytes(value, [](char c) { return IsDigit(c); })) {
      return ParseError::kBadContentLength;
    }
    facts->has_content_length = true;
    for (char c : value) {
      facts->content_length = facts->content_length * 10 + static_cast<uint64_t>(c - '0');
    }
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    return ApplyTransferEncoding(value, facts);
  } else if (EqualsIgnoreCase(name, "host")) {
    ++facts->host_count;
  } else if (EqualsIgnoreCase(name, "connection")) {
    ForEachListElement(value, [&](std::string_view option) {
      if (EqualsIgnoreCase(option, "close")) facts->connection_close = true;
      if (EqualsIgnoreCase(option, "keep-alive")) facts->connection_keep_alive = true;
    });
  } else if (EqualsIgnoreCase(name, "expect")) {
    if (EqualsIgnoreCase(value, "100-continue")) facts->expect_continue = true;
  }
  return ParseError::kNone;
}

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

// request-line = method SP request-target SP HTTP-version, exactly one SP each.
ParseError ParseRequestLine(std::string_view line, RequestHead* head) {
  const size_t sp1 = line.find(' ');
  if (sp1 == kNpos || !IsToken(line.substr(0, sp1))) return ParseError::kBadRequestLine;
  const std::string_view rest = line.substr(sp1 + 1);
  const size_t sp2 = rest.find(' ');
  if (sp2 == kNpos || sp2 == 0) return ParseError::kBadRequestLine;
  const std::string_view target = rest.substr(0, sp2);
  if (!AllBytes(target, [](char c) { return IsVchar(c); })) return ParseError::kBadRequestLine;
  const std::string_view version = rest.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return ParseError::kBadRequestLine;
  }
  if (version[5] != '1') return ParseError::kUnsupportedVersion;
  // HTTP/1.x with x > 1 is answered as 1.1, the highest minor we implement (RFC 9110 2.5).
  head->version = version[7] == '0' ? HttpVersion::kHttp10 : HttpVersion::kHttp11;
  head->method = MethodFromString(line.substr(0, sp1));
  head->target.assign(target);
  return ParseError::kNone;
}

// Parses a complete head block (request line through the empty line); every LF in it is
// already known to be preceded by CR.
ParseError ParseHeadBlock(std::string_view block, const ParserLimits& limits, RequestHead* head) {
  size_t lf = block.find('\n');
  if (ParseError error = ParseRequestLine(block.substr(0, lf - 1), head);
      error != ParseError::kNone) {
    return error;
  }
  HeadFacts facts;
  size_t count = 0;
  for (size_t pos = lf + 1;; pos = lf + 1) {
    lf = block.find('\n', pos);
    const std::string_view line = block.substr(pos, lf - 1 - pos);
    if (line.empty()) break;
    if (++count > limits.max_header_count) return ParseError::kHeaderTooLarge;
    std::string_view name;
    std::string_view value;
    if (ParseError error = SplitField(line, &name, &value); error != ParseError::kNone) {
      return error;
    }
    if (ParseError error = ApplyField(name, value, &facts); error != ParseError::kNone) {
      return error;
    }
  }

  const bool http10 = head->version == HttpVersion::kHttp10;
  // RFC 9112 6.1 allows rejecting CL + TE; accepting it invites request smuggling.
  if (facts.has_content_length && facts.has_transfer_encoding) {
    return ParseError::kConflictingFraming;
  }
  if (facts.has_transfer_encoding) {
    if (http10) return ParseError::kBadTransferEncoding;
    // RFC 9112 6.3: without chunked last the body length is unknowable, which is a 400.
    if (!facts.te_chunked_last) return ParseError::kBadTransferEncoding;
    if (facts.te_other) return ParseError::kUnsupportedTransferCoding;  // we only decode chunked
  }
  if (facts.host_count > 1 || (!http10 && facts.host_count == 0)) return ParseError::kMissingHost;
  if (facts.content_length > limits.max_body_bytes) return ParseError::kBodyTooLarge;

  head->chunked = facts.has_transfer_encoding;
  head->content_length = facts.content_length;
  head->expect_continue = !http10 && facts.expect_continue;
  head->keep_alive = !facts.connection_close && (!http10 || facts.connection_keep_alive);
  return ParseError::kNone;
}

ParseResult Event(ParseEvent event, size_t consumed) {
  return ParseResult{event, consumed, {}, ParseError::kNone};
}

ParseResult NeedMore(size_t consumed) { return Event(ParseEvent::kNeedMore, consumed); }

}  // namespace

int StatusForParseError(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return 200;
    case ParseError::kBadRequestLine:
    case ParseError::kBadHeader:
    case ParseError::kMissingHost:
    case ParseError::kBadContentLength:
    case ParseError::kConflictingFraming:
    case ParseError::kBadTransferEncoding:
    case ParseError::kBadChunk:
      return 400;
    case ParseError::kHeaderTooLarge:
      return 431;
    case ParseError::kBodyTooLarge:
      return 413;
    case ParseError::kUnsupportedTransferCoding:
      return 501;
    case ParseError::kUnsupportedVersion:
      return 505;
  }
  return 400;
}

std::string_view ParseErrorName(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kBadRequestLine:
      return "bad_request_line";
    case ParseError::kUnsupportedVersion:
      return "unsupported_version";
    case ParseError::kBadHeader:
      return "bad_header";
    case ParseError::kMissingHost:
      return "missing_host";
    case ParseError::kBadContentLength:
      return "bad_content_length";
    case ParseError::kConflictingFraming:
      return "conflicting_framing";
    case ParseError::kBadTransferEncoding:
      return "bad_transfer_encoding";
    case ParseError::kUnsupportedTransferCoding:
      return "unsupported_transfer_coding";
    case ParseError::kBadChunk:
      return "bad_chunk";
    case ParseError::kHeaderTooLarge:
      return "header_too_large";
    case ParseError::kBodyTooLarge:
      return "body_too_large";
  }
  return "unknown";
}

ParseResult HttpRequestParser::Parse(std::string_view input) {
  // Chunk framing (size lines, CRLFs, trailers) is consumed in a loop until an event or a
  // partial line; `offset` counts those bytes so kNeedMore can report them as consumed.
  size_t offset = 0;
  while (true) {
    const std::string_view rest = input.substr(offset);
    ParseResult step;
    switch (state_) {
      case State::kHead:
        return ParseHead(input);
      case State::kBodyFixed:
      case State::kChunkData: {
        if (state_ == State::kBodyFixed && body_remaining_ == 0) {
          state_ = State::kDone;
          return Event(ParseEvent::kMessageComplete, offset);
        }
        if (rest.empty()) return NeedMore(offset);
        const size_t n = static_cast<size_t>(std::min<uint64_t>(rest.size(), body_remaining_));
        body_remaining_ -= n;
        if (state_ == State::kChunkData && body_remaining_ == 0) state_ = State::kChunkDataEnd;
        return ParseResult{ParseEvent::kBodyData, offset + n, rest.substr(0, n), ParseError::kNone};
      }
      case State::kChunkSize:
        step = ParseChunkSize(rest);
        break;
      case State::kChunkDataEnd:
        // Exactly CRLF must follow chunk data; judge each byte as soon as it is here.
        if (!rest.empty() && rest[0] != '\r') return Fail(ParseError::kBadChunk);
        if (rest.size() >= 2 && rest[1] != '\n') return Fail(ParseError::kBadChunk);
        if (rest.size() < 2) return NeedMore(offset);
        state_ = State::kChunkSize;
        step = NeedMore(2);
        break;
      case State::kTrailers:
        step = ParseTrailers(rest);
        break;
      case State::kDone:
        return Event(ParseEvent::kMessageComplete, 0);
      case State::kError:
        return ParseResult{ParseEvent::kError, 0, {}, error_};
    }
    if (step.event == ParseEvent::kError) return step;
    offset += step.consumed;
    if (step.event != ParseEvent::kNeedMore) {
      step.consumed = offset;
      return step;
    }
    if (step.consumed == 0) return NeedMore(offset);
  }
}

ParseResult HttpRequestParser::ParseHead(std::string_view input) {
  size_t start = 0;
  for (int i = 0; i < kMaxLeadingEmptyLines && input.size() - start >= 2 && input[start] == '\r' &&
                  input[start + 1] == '\n';
       ++i) {
    start += 2;
  }
  // Only the first max_header_bytes can hold the head. Scanning LFs also catches bare LFs
  // early, so a head using bare LF line endings fails fast instead of running into the limit.
  const std::string_view window = input.substr(0, limits_.max_header_bytes);
  size_t end = kNpos;
  for (size_t pos = std::max(head_scan_offset_, start); end == kNpos;) {
    const size_t lf = window.find('\n', pos);
    if (lf == kNpos) break;
    if (lf == start || input[lf - 1] != '\r') {
      const bool in_request_line = input.substr(start, lf - start).find("\r\n") == kNpos;
      return Fail(in_request_line ? ParseError::kBadRequestLine : ParseError::kBadHeader);
    }
    if (lf >= start + 3 && input[lf - 2] == '\n' && input[lf - 3] == '\r') end = lf + 1;
    pos = lf + 1;
  }
  if (end == kNpos) {
    if (input.size() >= limits_.max_header_bytes) return Fail(ParseError::kHeaderTooLarge);
    head_scan_offset_ = std::max(window.size(), start);  // resume here: no rescans
    return NeedMore(0);
  }

  if (ParseError error = ParseHeadBlock(input.substr(start, end - start), limits_, &head_);
      error != ParseError::kNone) {
    return Fail(error);
  }
  head_.header_bytes = end;
  if (head_.chunked) {
    state_ = State::kChunkSize;
  } else {
    state_ = State::kBodyFixed;
    body_remaining_ = head_.content_length;
  }
  return Event(ParseEvent::kHeadComplete, end);
}

ParseResult HttpRequestParser::ParseChunkSize(std::string_view input) {
  const size_t lf = input.substr(0, kMaxChunkLineBytes).find('\n');
  if (lf == kNpos) {
    if (input.size() >= kMaxChunkLineBytes) return Fail(ParseError::kBadChunk);
    return NeedMore(0);  // keep the partial line in the caller's buffer
  }
  if (lf == 0 || input[lf - 1] != '\r') return Fail(ParseError::kBadChunk);  // bare LF
  const std::string_view line = input.substr(0, lf - 1);

  size_t digits = 0;
  uint64_t size = 0;
  for (; digits < line.size(); ++digits) {
    const char c = ToLowerAscii(line[digits]);
    int value = 0;
    if (IsDigit(c)) {
      value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      value = c - 'a' + 10;
    } else {
      break;
    }
    size = size * 16 + static_cast<uint64_t>(value);
  }
  if (digits == 0 || digits > kMaxChunkSizeDigits) return Fail(ParseError::kBadChunk);
  if (!ValidChunkExtensions(line.substr(digits))) return Fail(ParseError::kBadChunk);
  // Judged on the declared size, before any of the chunk's data is delivered.
  // The first test guards the subtraction should set_limits() shrink the limit mid-message.
  if (body_received_ > limits_.max_body_bytes || size > limits_.max_body_bytes - body_received_) {
    return Fail(ParseError::kBodyTooLarge);
  }
  body_received_ += size;

  if (size == 0) {
    state_ = State::kTrailers;
    trailer_bytes_ = 0;
  } else {
    state_ = State::kChunkData;
    body_remaining_ = size;
  }
  return NeedMore(lf + 1);
}

ParseResult HttpRequestParser::ParseTrailers(std::string_view input) {
  // Trailer lines share one max_header_bytes budget, including the final empty line.
  const size_t budget =
      trailer_bytes_ < limits_.max_header_bytes ? limits_.max_header_bytes - trailer_bytes_ : 0;
  const size_t lf = input.substr(0, budget).find('\n');
  if (lf == kNpos) {
    if (input.size() >= budget) return Fail(ParseError::kHeaderTooLarge);
    return NeedMore(0);
  }
  if (lf == 0 || input[lf - 1] != '\r') return Fail(ParseError::kBadHeader);  // bare LF
  trailer_bytes_ += lf + 1;
  const std::string_view line = input.substr(0, lf - 1);
  if (line.empty()) {
    state_ = State::kDone;
    return Event(ParseEvent::kMessageComplete, lf + 1);
  }
  // Trailer contents are discarded, but they must still be well-formed fields.
  std::string_view name;
  std::string_view value;
  if (ParseError error = SplitField(line, &name, &value); error != ParseError::kNone) {
    return Fail(error);
  }
  return NeedMore(lf + 1);
}

ParseResult HttpRequestParser::Fail(ParseError error) {
  state_ = State::kError;
  error_ = error;  // replayed by later Parse() calls
  return ParseResult{ParseEvent::kError, 0, {}, error};
}

void HttpRequestParser::Reset() {
  std::string target = std::move(head_.target);
  target.clear();  // keeps capacity for the next request
  head_ = RequestHead{};
  head_.target = std::move(target);
  state_ = State::kHead;
  head_scan_offset_ = 0;
  body_remaining_ = 0;
  body_received_ = 0;
  trailer_bytes_ = 0;
  error_ = ParseError::kNone;
}

}  // namespace proxynode
