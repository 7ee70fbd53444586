// The two halves of a proxied exchange that work on buffers alone, with no socket: the
// request forwarder (the head and body as the upstream gets them) and the response
// forwarder (the upstream's response reframed into the client's output, up to a watermark).

#include <string>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/proxy/request_forwarder.h"
#include "dataplane/proxy/response_forwarder.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

std::string Drain(Buffer& buffer, BufferPool& pool) {
  std::string bytes(buffer.readable());
  buffer.Consume(buffer.size());
  buffer.ReleaseIfEmpty(pool);
  return bytes;
}

TEST(RequestForwarderTest, AChunkedBodyIsRechunkedAndTheHeadKeptForARetry) {
  BufferPool pool;
  RequestForwarder request(pool);
  RequestHead head;
  head.method = HttpMethod::kPost;
  head.chunked = true;
  request.Begin(head, "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                "10.0.0.1", "up:80");
  EXPECT_TRUE(request.has_body());
  EXPECT_FALSE(request.complete());
  request.OnBody("abc");
  request.OnComplete();
  EXPECT_TRUE(request.complete());
  const std::string sent(request.pending());
  EXPECT_TRUE(sent.starts_with("POST /u HTTP/1.1\r\n")) << sent;
  EXPECT_NE(sent.find("X-Forwarded-For: 10.0.0.1\r\n"), std::string::npos) << sent;
  EXPECT_TRUE(sent.ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n")) << sent;
  request.Restart();
  EXPECT_TRUE(std::string(request.pending()).ends_with("chunked\r\n\r\n"))
      << "a retry sends the head alone";
  request.Clear();
  EXPECT_TRUE(request.pending().empty());
}

TEST(RequestForwarderTest, TheClientWaitsOnceTheUnsentBodyReachesTheLimit) {
  BufferPool pool;
  RequestForwarder request(pool);
  RequestHead head;
  head.method = HttpMethod::kPut;
  head.content_length = 1 << 20;
  request.Begin(head, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", "", "");
  EXPECT_TRUE(request.CanAcceptBody());
  request.OnBody(std::string(RequestForwarder::kMaxBuffered, 'x'));
  EXPECT_FALSE(request.CanAcceptBody());
}

class ResponseForwarderTest : public ::testing::Test {
 protected:
  ~ResponseForwarderTest() override {
    Drain(in_, pool_);
    Drain(out_, pool_);
  }
  BufferPool pool_;
  DateHeaderCache date_;
  ResponseForwarder forwarder_{pool_, date_};
  Buffer in_;
  Buffer out_;
};

TEST_F(ResponseForwarderTest, AChunkedResponseReachesAnHttp10ClientCloseDelimited) {
  forwarder_.Reset(/*request_was_head=*/false);
  forwarder_.set_client({.http10 = true});
  forwarder_.Attach(out_);
  in_.Append(pool_, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(forwarder_.Pump(in_, 64 * 1024), ResponseForwarder::Result::kDone);
  EXPECT_TRUE(in_.empty());
  const std::string response = Drain(out_, pool_);
  EXPECT_NE(response.find("Connection: close\r\n"), std::string::npos) << response;
  EXPECT_EQ(response.find("Transfer-Encoding"), std::string::npos) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\nabc")) << response;
  EXPECT_TRUE(forwarder_.closes_connection());
  EXPECT_EQ(forwarder_.status(), 200);
}

TEST_F(ResponseForwarderTest, ItStopsAtTheWatermarkAndGoesOnFromWhereItStopped) {
  forwarder_.Reset(false);
  forwarder_.Attach(out_);
  in_.Append(pool_, "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n");
  in_.Append(pool_, std::string(30000, 'b'));
  // The head alone passes the watermark: the body waits where it came in.
  EXPECT_EQ(forwarder_.Pump(in_, 50), ResponseForwarder::Result::kFull);
  EXPECT_EQ(in_.size(), 30000u);
  const std::string head = Drain(out_, pool_);
  EXPECT_TRUE(head.ends_with("Content-Length: 30000\r\n\r\n")) << head;
  size_t body = 0;
  ResponseForwarder::Result result;
  int rounds = 0;
  while ((result = forwarder_.Pump(in_, 50)) == ResponseForwarder::Result::kFull &&
         ++rounds < 100) {
    body += Drain(out_, pool_).size();
  }
  body += Drain(out_, pool_).size();
  EXPECT_EQ(result, ResponseForwarder::Result::kDone);
  EXPECT_EQ(body, 30000u);
}

TEST_F(ResponseForwarderTest, ACloseEndsACloseDelimitedBodyAndCutsALengthOne) {
  forwarder_.Reset(false);
  forwarder_.Attach(out_);
  in_.Append(pool_, "HTTP/1.1 200 OK\r\n\r\nuntil close");
  EXPECT_EQ(forwarder_.Pump(in_, 64 * 1024), ResponseForwarder::Result::kNeedMore);
  EXPECT_EQ(forwarder_.EndAtClose(), ResponseForwarder::Result::kDone);
  EXPECT_TRUE(Drain(out_, pool_).ends_with("\r\n\r\nb\r\nuntil close\r\n0\r\n\r\n"))
      << "an HTTP/1.1 client gets it chunked";

  forwarder_.Clear();
  forwarder_.Reset(false);
  forwarder_.Attach(out_);
  in_.Append(pool_, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  EXPECT_EQ(forwarder_.Pump(in_, 64 * 1024), ResponseForwarder::Result::kNeedMore);
  EXPECT_TRUE(forwarder_.head_forwarded());
  EXPECT_EQ(forwarder_.EndAtClose(), ResponseForwarder::Result::kMalformed);
}

TEST_F(ResponseForwarderTest, AMalformedResponseIsReportedBeforeAnythingIsWritten) {
  forwarder_.Reset(false);
  forwarder_.Attach(out_);
  in_.Append(pool_, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(forwarder_.Pump(in_, 64 * 1024), ResponseForwarder::Result::kMalformed);
  EXPECT_FALSE(forwarder_.head_forwarded());
  EXPECT_TRUE(out_.empty());
}

}  // namespace
}  // namespace proxynode
