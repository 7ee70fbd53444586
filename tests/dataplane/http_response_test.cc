#include "dataplane/http/http_response.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"

namespace proxynode {
namespace {

constexpr std::string_view kDate = "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";

std::string Render(const ResponseHead& head, std::string_view body, bool head_only,
                   std::string_view date = kDate) {
  BufferPool pool;
  Buffer out;
  AppendResponse(out, pool, head, date, body, head_only);
  std::string text(out.readable());
  out.Consume(out.size());
  out.ReleaseIfEmpty(pool);
  return text;
}

TEST(HttpResponseTest, OkWithBody) {
  ResponseHead head;
  head.content_length = 12;
  EXPECT_EQ(Render(head, "Hello World\n", false),
            "HTTP/1.1 200 OK\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 12\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n"
            "Hello World\n");
}

TEST(HttpResponseTest, ExtraFieldsAndTheFaultTagComeBeforeConnection) {
  const std::vector<std::pair<std::string, std::string>> fields = {{"X-Why", "fault"},
                                                                   {"Retry-After", "3"}};
  ResponseHead head;
  head.status = 418;
  head.content_length = 3;
  head.close = true;
  head.extra_fields = &fields;
  head.fault_rule = "teapot";
  EXPECT_EQ(Render(head, "tea", false),
            "HTTP/1.1 418 I'm a teapot\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 3\r\n"
            "Content-Type: text/plain\r\n"
            "X-Why: fault\r\n"
            "Retry-After: 3\r\n"
            "x-proxynode-fault: teapot\r\n"
            "Connection: close\r\n"
            "\r\n"
            "tea");
}

TEST(HttpResponseTest, NoContentAndNotModifiedHaveNoLengthNorBody) {
  for (int status : {204, 304}) {
    ResponseHead head;
    head.status = status;
    head.content_length = 5;
    const std::string text = Render(head, "oops!", false);
    EXPECT_EQ(text.find("Content-Length"), std::string::npos) << status;
    EXPECT_EQ(text.find("Content-Type"), std::string::npos) << status;
    EXPECT_TRUE(text.ends_with("\r\n\r\n")) << status << ": no body";
  }
}

TEST(HttpResponseTest, HeadHasContentLengthButNoBody) {
  ResponseHead head;
  head.content_length = 12;
  EXPECT_EQ(Render(head, "Hello World\n", true),
            "HTTP/1.1 200 OK\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 12\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n");
}

TEST(HttpResponseTest, ConnectionClose) {
  ResponseHead head;
  head.close = true;
  head.keep_alive_header = true;  // close wins
  EXPECT_EQ(Render(head, "", false),
            "HTTP/1.1 200 OK\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 0\r\n"
            "Content-Type: text/plain\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HttpResponseTest, KeepAliveHeader) {
  ResponseHead head;
  head.keep_alive_header = true;
  head.content_length = 2;
  EXPECT_EQ(Render(head, "ok", false),
            "HTTP/1.1 200 OK\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 2\r\n"
            "Content-Type: text/plain\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "ok");
}

TEST(HttpResponseTest, RetryAfterOnServiceUnavailable) {
  ResponseHead head;
  head.status = 503;
  head.close = true;
  head.retry_after_seconds = 7;
  EXPECT_EQ(Render(head, "", false),
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 0\r\n"
            "Content-Type: text/plain\r\n"
            "Retry-After: 7\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HttpResponseTest, EmptyContentTypeAndDateAreOmitted) {
  ResponseHead head;
  head.status = 202;
  head.content_type = "";
  EXPECT_EQ(Render(head, "", false, ""),
            "HTTP/1.1 202 Accepted\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(HttpResponseTest, CustomContentTypeAndLargeLength) {
  ResponseHead head;
  head.status = 429;
  head.content_type = "application/json; charset=utf-8";
  head.content_length = UINT64_MAX;  // head only: the number is all that is written
  EXPECT_EQ(Render(head, "", true),
            "HTTP/1.1 429 Too Many Requests\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 18446744073709551615\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "\r\n");
}

TEST(HttpResponseTest, ResponsesAppendAfterExistingOutput) {
  BufferPool pool;
  Buffer out;
  ResponseHead head;
  head.content_length = 1;
  AppendResponse(out, pool, head, kDate, "a", false);
  AppendResponse(out, pool, head, kDate, "b", false);
  const std::string one =
      "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 1\r\n"
      "Content-Type: text/plain\r\n\r\n";
  EXPECT_EQ(out.readable(), one + "a" + one + "b");
}

TEST(HttpResponseTest, BodyLargerThanABlock) {
  BufferPool pool;
  Buffer out;
  out.Append(pool, "previous bytes ");
  const std::string body(100'000, 'z');
  ResponseHead head;
  head.content_length = body.size();
  AppendResponse(out, pool, head, kDate, body, false);
  const std::string_view text = out.readable();
  ASSERT_GT(text.size(), body.size());
  EXPECT_EQ(text.substr(0, 15), "previous bytes ");
  EXPECT_NE(text.find("Content-Length: 100000\r\n"), std::string_view::npos);
  EXPECT_EQ(text.substr(text.size() - body.size()), body);
  EXPECT_EQ(text.substr(text.size() - body.size() - 4, 4), "\r\n\r\n");
}

TEST(HttpResponseTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(400), "Bad Request");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(408), "Request Timeout");
  EXPECT_EQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_EQ(ReasonPhrase(429), "Too Many Requests");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(ReasonPhrase(299), "Unknown");
}

TEST(DateHeaderCacheTest, Epoch) {
  DateHeaderCache cache;
  EXPECT_EQ(cache.Get(0), "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
}

TEST(DateHeaderCacheTest, KnownDates) {
  DateHeaderCache cache;
  EXPECT_EQ(cache.Get(1'700'000'000), "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n");
  EXPECT_EQ(cache.Get(951'782'400), "Date: Tue, 29 Feb 2000 00:00:00 GMT\r\n");
  EXPECT_EQ(cache.Get(4'102'444'799), "Date: Thu, 31 Dec 2099 23:59:59 GMT\r\n");
}

TEST(DateHeaderCacheTest, RebuildsOnlyWhenTheSecondChanges) {
  DateHeaderCache cache;
  const std::string_view first = cache.Get(1'700'000'000);
  EXPECT_EQ(cache.Get(1'700'000'000).data(), first.data());  // same cached text
  EXPECT_EQ(cache.Get(1'700'000'001), "Date: Tue, 14 Nov 2023 22:13:21 GMT\r\n");
  EXPECT_EQ(cache.Get(0), "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");  // backwards too
}

}  // namespace
}  // namespace proxynode
