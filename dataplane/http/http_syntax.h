#pragma once

// What the HTTP/1.1 parsers share: the events and errors they report (proxynode), and the
// grammar rules of RFC 9110 5.5-5.6 and RFC 9112 2, 5, 6.1 and 7.1 (proxynode::http_syntax).
// Pure functions over bytes; no allocation.
//
// The per-byte predicates are inline: they run for every byte of every head, and a call
// across translation units per byte would cost more than the check itself.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proxynode {

enum class HttpVersion : uint8_t { kHttp10, kHttp11 };

// Why a message was rejected. Request errors map to the status the client gets (see
// StatusForParseError); a response error means the upstream misbehaved (502).
enum class ParseError : uint8_t {
  kNone,
  kBadRequestLine,             // 400: malformed method, target, version or spacing, or a target
                               // form the method does not take (RFC 9112 3.2)
  kTargetTooLong,              // 414: the request line alone runs over max_header_bytes
  kConnectUnsupported,         // 501: CONNECT; the node opens no tunnels
  kUnsupportedVersion,         // 505: HTTP/2.0, HTTP/3, HTTP/1.x with x > 1 is treated as 1.1
  kBadHeader,                  // 400: bad name, whitespace before colon, obs-fold, NUL, bare CR/LF
  kMissingHost,                // 400: HTTP/1.1 request without exactly one Host header
  kBadContentLength,           // 400: non-numeric, overflowing, or duplicate Content-Length
  kConflictingFraming,         // 400: Content-Length together with Transfer-Encoding
  kBadTransferEncoding,        // 400: chunked not last, chunked twice, or TE in an HTTP/1.0 request
  kUnsupportedTransferCoding,  // 501: a coding other than chunked (e.g. gzip, chunked)
  kBadChunk,                   // 400: bad chunk size or extension, missing CRLF after chunk data
  kHeaderTooLarge,             // 431: head or trailers over max_header_bytes, or too many fields
  kBodyTooLarge,               // 413: declared or decoded body over max_body_bytes
  // Response errors only.
  kBadStatusLine,       // 502: status line not `HTTP/1.x DDD [reason]`, or code not 100-599
  kSwitchingProtocols,  // 502: a 101 response; the proxy never asks for an upgrade
  kTruncated,           // 502: the peer closed the connection before the message ended
};

// The HTTP status code for `error`: what a client gets for a request error (400, 413, 414,
// 431, 501 or 505), 502 for an upstream response error.
int StatusForParseError(ParseError error);
// A short stable name for stats and logs, e.g. "bad_header".
std::string_view ParseErrorName(ParseError error);

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

namespace http_syntax {

inline constexpr size_t kNpos = std::string_view::npos;

constexpr std::array<bool, 256> MakeTcharTable() {
  std::array<bool, 256> table{};
  for (char c = '0'; c <= '9'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'a'; c <= 'z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c = 'A'; c <= 'Z'; ++c) table[static_cast<unsigned char>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
inline constexpr std::array<bool, 256> kTchar = MakeTcharTable();  // RFC 9110 5.6.2

inline bool IsTchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }

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

inline bool IsToken(std::string_view s) {
  return !s.empty() && AllBytes(s, [](char c) { return IsTchar(c); });
}
inline bool IsWs(char c) { return c == ' ' || c == '\t'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsVchar(char c) { return c >= 0x21 && c <= 0x7E; }
inline bool IsObsText(char c) { return static_cast<unsigned char>(c) >= 0x80; }
// field-vchar, SP or HTAB: every CTL (NUL, bare CR, bare LF, ...) and DEL is rejected.
// Also the bytes of a reason-phrase (RFC 9112 4).
inline bool IsFieldValueChar(char c) { return c == '\t' || c == ' ' || IsVchar(c) || IsObsText(c); }

// Visible bytes only (VCHAR or obs-text): what a request target may hold, so a configured
// path with a space or control byte could never match one.
inline bool IsVisible(std::string_view s) {
  return AllBytes(s, [](char c) { return IsVchar(c) || IsObsText(c); });
}

inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

inline size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

inline size_t SkipToken(std::string_view s, size_t i) {
  while (i < s.size() && IsTchar(s[i])) ++i;
  return i;
}

inline char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
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

struct VersionNumber {
  int major = 0;
  int minor = 0;
};
// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3).
inline bool ParseHttpVersion(std::string_view text, VersionNumber* version) {
  if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || !IsDigit(text[5]) || text[6] != '.' ||
      !IsDigit(text[7])) {
    return false;
  }
  version->major = text[5] - '0';
  version->minor = text[7] - '0';
  return true;
}

// Skips a quoted-string starting at s[i] == '"'; returns the index after it or kNpos.
size_t SkipQuotedString(std::string_view s, size_t i);

// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) (RFC 9112 7.1.1).
// BWS is accepted because the grammar allows it; whitespace not followed by ';' or '='
// (e.g. trailing whitespace after the size) is rejected.
bool ValidChunkExtensions(std::string_view ext);

// field-line = field-name ":" OWS field-value OWS (RFC 9112 5). False for a bad line: the
// token check on the name rejects obs-fold (leading SP/HTAB), whitespace before the colon
// and empty names, all of which are request-smuggling vectors when intermediaries disagree.
bool SplitField(std::string_view line, std::string_view* name, std::string_view* value);

// Content-Length = 1*DIGIT (RFC 9110 8.6), at most 19 digits so it cannot overflow. A list,
// even of equal values, is rejected.
bool ParseContentLength(std::string_view value, uint64_t* length);

// What the Transfer-Encoding fields of one message listed, in order (RFC 9112 6.1).
struct TransferCodings {
  bool present = false;
  bool chunked_last = false;          // the last coding listed so far is chunked
  size_t chunked_count = 0;           // how often chunked was listed
  bool coding_after_chunked = false;  // some coding (chunked too) followed chunked
  bool other = false;                 // some coding other than chunked was listed
  bool malformed = false;             // not a token, chunked with parameters, or an empty field
};
// Adds the codings of one Transfer-Encoding field value.
void AddTransferEncoding(std::string_view value, TransferCodings* codings);

// What the fields that frame a message and decide whether its connection persists said
// (Content-Length, Transfer-Encoding, Connection); judged as a whole once the head is complete.
struct FramingFields {
  bool has_content_length = false;
  uint64_t content_length = 0;
  TransferCodings codings;
  bool connection_close = false;       // Connection lists close
  bool connection_keep_alive = false;  // Connection lists keep-alive
};

// What a Transfer-Encoding list may hold after chunked (RFC 9112 6.1). Requests: nothing, as
// anything after chunked (a second chunked too) makes the framing ambiguous. Responses: any
// coding but chunked again, as the body then simply ends at close.
enum class AfterChunked : uint8_t { kNothing, kNotChunked };

// Records the field `name: value` in *fields if it is one of the framing fields. Returns
// kBadContentLength for a Content-Length that is not a valid length or comes a second time (even
// with the same value: we do not guess), kBadTransferEncoding for a malformed Transfer-Encoding
// list or one that breaks `after_chunked`, and kNone otherwise (for any other field too).
ParseError ApplyFramingField(std::string_view name, std::string_view value,
                             AfterChunked after_chunked, FramingFields* fields);

// Judges the framing fields of a complete head: Content-Length together with Transfer-Encoding
// is kConflictingFraming (RFC 9112 6.1 allows rejecting it, and accepting it is how messages
// get smuggled past another implementation); Transfer-Encoding in an HTTP/1.0 message is
// kBadTransferEncoding (faulty framing, RFC 9112 6.1).
ParseError CheckFramingFields(const FramingFields& fields, HttpVersion version);

// Whether the version and Connection field let the connection carry another message (RFC 9112
// 9.3): HTTP/1.1 unless close is listed, HTTP/1.0 only with keep-alive, and close wins.
inline bool ConnectionPersists(const FramingFields& fields, HttpVersion version) {
  return !fields.connection_close &&
         (version != HttpVersion::kHttp10 || fields.connection_keep_alive);
}

// Where a head block (start line through the empty line) ends in the bytes buffered so far.
struct HeadEnd {
  enum class Status : uint8_t {
    kFound,       // position: the index after the final LF
    kIncomplete,  // position: where the next scan resumes (nothing before it is rescanned)
    kTooLarge,    // no end within the first max_bytes
    kBareLfInStartLine,
    kBareLfInFields,
  };
  Status status;
  size_t position;
};
// Scans input[start..] for the end of the head, beginning at `resume` (a previous
// kIncomplete position, or 0). Only the first `max_bytes` of input (start included) can hold
// the head. Scanning LFs also catches bare LFs early, so a head using bare LF line endings
// fails fast instead of running into the limit.
HeadEnd FindHeadEnd(std::string_view input, size_t start, size_t resume, size_t max_bytes);

// The next line of a complete head block (every line ends in CRLF) from *pos, without its
// CRLF; advances *pos past it. The empty line that ends the block comes back empty.
inline std::string_view NextHeadLine(std::string_view block, size_t* pos) {
  const size_t lf = block.find('\n', *pos);
  const std::string_view line = block.substr(*pos, lf - 1 - *pos);
  *pos = lf + 1;
  return line;
}

}  // namespace http_syntax
}  // namespace proxynode
