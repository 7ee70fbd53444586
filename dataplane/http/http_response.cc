#include "dataplane/http/http_response.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <iterator>

#include "dataplane/core/buffer_pool.h"

namespace proxynode {
namespace {

class HeadWriter {
 public:
  explicit HeadWriter(char* out) : start_(out), cursor_(out) {}
  void Put(std::string_view text) {
    std::memcpy(cursor_, text.data(), text.size());
    cursor_ += text.size();
  }
  void PutNumber(uint64_t value) { cursor_ = std::to_chars(cursor_, cursor_ + 20, value).ptr; }
  size_t size() const { return static_cast<size_t>(cursor_ - start_); }

 private:
  char* start_;
  char* cursor_;
};

// Longest head this writer produces: status line, five short fields and a content type.
constexpr size_t kMaxHeadBytes = 512;

}  // namespace

// RFC 9110 section 15, with 418 (RFC 9110 reserves it), 425 (RFC 8470), 428, 429, 431 and
// 511 (RFC 6585), 451 (RFC 7725), 507 and 508 (WebDAV): every status a fault rule may send.
std::string_view ReasonPhrase(int status) {
  struct Entry {
    int status;
    std::string_view phrase;
  };
  static constexpr Entry kPhrases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {203, "Non-Authoritative Information"},
      {204, "No Content"},
      {205, "Reset Content"},
      {206, "Partial Content"},
      {300, "Multiple Choices"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {305, "Use Proxy"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {402, "Payment Required"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {407, "Proxy Authentication Required"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {418, "I'm a teapot"},
      {421, "Misdirected Request"},
      {422, "Unprocessable Content"},
      {425, "Too Early"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {451, "Unavailable For Legal Reasons"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {507, "Insufficient Storage"},
      {508, "Loop Detected"},
      {511, "Network Authentication Required"},
  };
  const auto* it = std::lower_bound(std::begin(kPhrases), std::end(kPhrases), status,
                                    [](const Entry& e, int wanted) { return e.status < wanted; });
  if (it != std::end(kPhrases) && it->status == status) {
    return it->phrase;
  }
  return "Unknown";
}

void AppendResponse(Buffer& out, BufferPool& pool, const ResponseHead& head,
                    std::string_view date_header, std::string_view body, bool head_only) {
  size_t field_bytes = head.content_type.size();
  if (head.extra_fields != nullptr) {
    for (const auto& [name, value] : *head.extra_fields) {
      field_bytes += name.size() + value.size() + 4;
    }
  }
  field_bytes += head.fault_rule.size() + 24;
  size_t available;
  char* space = out.PrepareWrite(
      pool, kMaxHeadBytes + field_bytes + date_header.size() + (head_only ? 0 : body.size()),
      &available);
  HeadWriter w(space);
  w.Put("HTTP/1.1 ");
  w.PutNumber(static_cast<uint64_t>(head.status));
  w.Put(" ");
  w.Put(ReasonPhrase(head.status));
  w.Put("\r\n");
  w.Put(date_header);
  // RFC 9110 8.6, 15.3.5, 15.4.5: a 1xx or 204 must not say a length, and neither 1xx, 204
  // nor 304 has a body; a 304's length would describe the 200 it stands for.
  const bool bodiless = head.status < 200 || head.status == 204 || head.status == 304;
  if (!bodiless) {
    w.Put("Content-Length: ");
    w.PutNumber(head.content_length);
    w.Put("\r\n");
  }
  if (!head.content_type.empty() && !bodiless) {
    w.Put("Content-Type: ");
    w.Put(head.content_type);
    w.Put("\r\n");
  }
  if (head.retry_after_seconds != 0) {
    w.Put("Retry-After: ");
    w.PutNumber(head.retry_after_seconds);
    w.Put("\r\n");
  }
  if (head.extra_fields != nullptr) {
    for (const auto& [name, value] : *head.extra_fields) {
      w.Put(name);
      w.Put(": ");
      w.Put(value);
      w.Put("\r\n");
    }
  }
  if (!head.fault_rule.empty()) {
    w.Put("x-proxynode-fault: ");
    w.Put(head.fault_rule);
    w.Put("\r\n");
  }
  if (head.close) {
    w.Put("Connection: close\r\n");
  } else if (head.keep_alive_header) {
    w.Put("Connection: keep-alive\r\n");
  }
  w.Put("\r\n");
  if (!head_only && !bodiless) {
    w.Put(body);
  }
  out.Commit(w.size());
}

std::string_view DateHeaderCache::Get(int64_t unix_seconds) {
  if (unix_seconds != cached_second_) {
    cached_second_ = unix_seconds;
    time_t t = static_cast<time_t>(unix_seconds);
    tm utc{};
    gmtime_r(&t, &utc);
    char text[64];
    size_t n = strftime(text, sizeof(text), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
    header_.assign(text, n);
  }
  return header_;
}

}  // namespace proxynode
