#include "dataplane/http/http_response.h"

#include <charconv>
#include <cstring>
#include <ctime>

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

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void AppendResponse(Buffer& out, BufferPool& pool, const ResponseHead& head,
                    std::string_view date_header, std::string_view body, bool head_only) {
  size_t content_type_bytes = head.content_type.size();
  size_t available;
  char* space = out.PrepareWrite(
      pool, kMaxHeadBytes + content_type_bytes + date_header.size() + (head_only ? 0 : body.size()),
      &available);
  HeadWriter w(space);
  w.Put("HTTP/1.1 ");
  w.PutNumber(static_cast<uint64_t>(head.status));
  w.Put(" ");
  w.Put(ReasonPhrase(head.status));
  w.Put("\r\n");
  w.Put(date_header);
  w.Put("Content-Length: ");
  w.PutNumber(head.content_length);
  w.Put("\r\n");
  if (!head.content_type.empty()) {
    w.Put("Content-Type: ");
    w.Put(head.content_type);
    w.Put("\r\n");
  }
  if (head.retry_after_seconds != 0) {
    w.Put("Retry-After: ");
    w.PutNumber(head.retry_after_seconds);
    w.Put("\r\n");
  }
  if (head.close) {
    w.Put("Connection: close\r\n");
  } else if (head.keep_alive_header) {
    w.Put("Connection: keep-alive\r\n");
  }
  w.Put("\r\n");
  if (!head_only) {
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
