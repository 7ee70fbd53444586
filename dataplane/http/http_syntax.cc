#include "dataplane/http/http_syntax.h"

#include <algorithm>

namespace proxynode {

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
    case ParseError::kTargetTooLong:
      return 414;
    case ParseError::kHeaderTooLarge:
      return 431;
    case ParseError::kBodyTooLarge:
      return 413;
    case ParseError::kUnsupportedTransferCoding:
    case ParseError::kConnectUnsupported:
      return 501;
    case ParseError::kUnsupportedVersion:
      return 505;
    case ParseError::kBadStatusLine:
    case ParseError::kSwitchingProtocols:
    case ParseError::kTruncated:
      return 502;
  }
  return 400;
}

std::string_view ParseErrorName(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kBadRequestLine:
      return "bad_request_line";
    case ParseError::kTargetTooLong:
      return "target_too_long";
    case ParseError::kConnectUnsupported:
      return "connect_unsupported";
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
    case ParseError::kBadStatusLine:
      return "bad_status_line";
    case ParseError::kSwitchingProtocols:
      return "switching_protocols";
    case ParseError::kTruncated:
      return "truncated";
  }
  return "unknown";
}

namespace http_syntax {
namespace {

// 19 decimal digits are below 2^64, so they cannot overflow.
constexpr size_t kMaxContentLengthDigits = 19;

}  // namespace

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

bool SplitField(std::string_view line, std::string_view* name, std::string_view* value) {
  const size_t colon = line.find(':');
  if (colon == kNpos) return false;
  *name = line.substr(0, colon);
  if (!IsToken(*name)) return false;
  const std::string_view raw = line.substr(colon + 1);
  if (!AllBytes(raw, [](char c) { return IsFieldValueChar(c); })) return false;
  *value = TrimOws(raw);
  return true;
}

bool ParseContentLength(std::string_view value, uint64_t* length) {
  if (value.empty() || value.size() > kMaxContentLengthDigits ||
      !AllBytes(value, [](char c) { return IsDigit(c); })) {
    return false;
  }
  *length = 0;
  for (char c : value) *length = *length * 10 + static_cast<uint64_t>(c - '0');
  return true;
}

void AddTransferEncoding(std::string_view value, TransferCodings* codings) {
  codings->present = true;
  const size_t count = ForEachListElement(value, [&](std::string_view element) {
    const std::string_view coding = TrimOws(element.substr(0, element.find(';')));
    if (codings->chunked_count > 0) codings->coding_after_chunked = true;
    if (!IsToken(coding)) {
      codings->malformed = true;
      codings->chunked_last = false;
    } else if (EqualsIgnoreCase(coding, "chunked")) {
      if (coding.size() != element.size()) codings->malformed = true;  // chunked takes no params
      ++codings->chunked_count;
      codings->chunked_last = true;
    } else {
      codings->other = true;
      codings->chunked_last = false;
    }
  });
  if (count == 0) codings->malformed = true;
}

ParseError ApplyFramingField(std::string_view name, std::string_view value,
                             AfterChunked after_chunked, FramingFields* fields) {
  if (EqualsIgnoreCase(name, "content-length")) {
    if (fields->has_content_length || !ParseContentLength(value, &fields->content_length)) {
      return ParseError::kBadContentLength;
    }
    fields->has_content_length = true;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    AddTransferEncoding(value, &fields->codings);
    const bool broken = after_chunked == AfterChunked::kNothing
                            ? fields->codings.coding_after_chunked
                            : fields->codings.chunked_count > 1;
    if (fields->codings.malformed || broken) return ParseError::kBadTransferEncoding;
  } else if (EqualsIgnoreCase(name, "connection")) {
    ForEachListElement(value, [&](std::string_view option) {
      if (EqualsIgnoreCase(option, "close")) fields->connection_close = true;
      if (EqualsIgnoreCase(option, "keep-alive")) fields->connection_keep_alive = true;
    });
  }
  return ParseError::kNone;
}

ParseError CheckFramingFields(const FramingFields& fields, HttpVersion version) {
  if (fields.has_content_length && fields.codings.present) return ParseError::kConflictingFraming;
  if (fields.codings.present && version == HttpVersion::kHttp10) {
    return ParseError::kBadTransferEncoding;
  }
  return ParseError::kNone;
}

HeadEnd FindHeadEnd(std::string_view input, size_t start, size_t resume, size_t max_bytes) {
  const std::string_view window = input.substr(0, max_bytes);
  for (size_t pos = std::max(resume, start);;) {
    const size_t lf = window.find('\n', pos);
    if (lf == kNpos) break;
    if (lf == start || input[lf - 1] != '\r') {
      const bool in_start_line = input.substr(start, lf - start).find("\r\n") == kNpos;
      return {
          in_start_line ? HeadEnd::Status::kBareLfInStartLine : HeadEnd::Status::kBareLfInFields,
          lf};
    }
    if (lf >= start + 3 && input[lf - 2] == '\n' && input[lf - 3] == '\r') {
      return {HeadEnd::Status::kFound, lf + 1};
    }
    pos = lf + 1;
  }
  if (input.size() >= max_bytes) return {HeadEnd::Status::kTooLarge, 0};
  return {HeadEnd::Status::kIncomplete, std::max(window.size(), start)};  // no rescans
}

}  // namespace http_syntax
}  // namespace proxynode
