#include "dataplane/http/proxy_headers.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxynode {
namespace {

constexpr std::string_view kDate = "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";

ProxiedRequest Request(std::string_view client_head) {
  return {
      .client_head = client_head, .client_ip = "192.0.2.7", .upstream_address = "10.0.0.5:8080"};
}

ProxiedResponse Response(std::string_view upstream_head) {
  return {.upstream_head = upstream_head, .date_field = kDate};
}

std::string Render(const ProxiedRequest& request) {
  std::string out;
  AppendUpstreamRequestHead(out, request);
  return out;
}

std::string Render(const ProxiedResponse& response) {
  std::string out;
  AppendClientResponseHead(out, response);
  return out;
}

// Whether `head` holds `line` as a whole field line.
bool HasLine(const std::string& head, std::string_view line) {
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
}

size_t Count(const std::string& text, std::string_view part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

std::string WithCase(std::string_view name, int (*convert)(int)) {
  std::string out(name);
  for (char& c : out) {
    c = static_cast<char>(convert(static_cast<unsigned char>(c)));
  }
  return out;
}

// A test name from a field name ("Keep-Alive" -> "KeepAlive").
std::string FieldTestName(const testing::TestParamInfo<std::string_view>& info) {
  std::string name;
  for (char c : info.param) {
    if (c != '-') {
      name += c;
    }
  }
  return name;
}

// --- Request to the upstream ---

TEST(UpstreamRequestHeadTest, ForwardsFieldsAndAddsHopFields) {
  EXPECT_EQ(Render(Request("GET /a?b=1 HTTP/1.1\r\n"
                           "Host: example.com\r\n"
                           "user-agent: test/1\r\n"
                           "Accept: */*\r\n"
                           "\r\n")),
            "GET /a?b=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "user-agent: test/1\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.1 proxynode\r\n"
            "\r\n");
}

TEST(UpstreamRequestHeadTest, KeepsAnyMethodAndTarget) {
  std::string out =
      Render(Request("PROPFIND http://example.com/x%20y?q HTTP/1.1\r\n"
                     "Host: example.com\r\n\r\n"));
  EXPECT_EQ(out.substr(0, out.find("\r\n")), "PROPFIND http://example.com/x%20y?q HTTP/1.1");
}

// An absolute-form request goes upstream in origin-form, with the target's authority as its
// one Host (RFC 9112 3.2.2), wherever the client's Host fields stood.
TEST(UpstreamRequestHeadTest, AbsoluteFormGoesInOriginFormWithTheAuthorityAsHost) {
  ProxiedRequest request = Request(
      "GET http://example.com:8080/x?q HTTP/1.1\r\nHost: other.example\r\nAccept: */*\r\n\r\n");
  request.target = "/x?q";
  request.authority = "example.com:8080";
  EXPECT_EQ(Render(request),
            "GET /x?q HTTP/1.1\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.1 proxynode\r\n"
            "Host: example.com:8080\r\n"
            "\r\n");
}

TEST(UpstreamRequestHeadTest, AppendsToWhatTheStringHolds) {
  std::string out = "earlier bytes|";
  AppendUpstreamRequestHead(out, Request("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(out.rfind("earlier bytes|GET / HTTP/1.1\r\n", 0), 0u);
}

class RequestDropsField : public testing::TestWithParam<std::string_view> {};

TEST_P(RequestDropsField, InAnyCase) {
  for (const std::string& name : {std::string(GetParam()), WithCase(GetParam(), ::tolower),
                                  WithCase(GetParam(), ::toupper)}) {
    SCOPED_TRACE(name);
    const std::string head =
        "POST / HTTP/1.1\r\nHost: a\r\n" + name + ": dropped-value\r\nX-Kept: 1\r\n\r\n";
    const std::string out = Render(Request(head));
    EXPECT_EQ(out.find("dropped-value"), std::string::npos) << out;
    EXPECT_TRUE(HasLine(out, "X-Kept: 1")) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(HopByHopAndReframed, RequestDropsField,
                         testing::Values("Connection", "Keep-Alive", "Proxy-Connection", "TE",
                                         "Trailer", "Transfer-Encoding", "Upgrade",
                                         "Proxy-Authorization", "Proxy-Authenticate", "Expect",
                                         "Content-Length"),
                         FieldTestName);

TEST(UpstreamRequestHeadTest, DropsFieldsTheConnectionFieldNames) {
  const std::string out =
      Render(Request("GET / HTTP/1.1\r\n"
                     "Host: a\r\n"
                     "x-hop-one: 1\r\n"
                     "Connection: keep-alive, X-HOP-ONE\r\n"
                     "X-Kept: 2\r\n"
                     "connection: x-Hop-Two\r\n"
                     "X-Hop-Two: 3\r\n"
                     "\r\n"));
  EXPECT_EQ(Count(WithCase(out, ::tolower), "hop"), 0u) << out;
  EXPECT_TRUE(HasLine(out, "X-Kept: 2")) << out;
}

TEST(UpstreamRequestHeadTest, DropsFieldsNamedByManyConnectionFields) {
  // More Connection fields than the fast path keeps: the last one still counts.
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 12; ++i) {
    head += "Connection: keep-alive\r\n";
  }
  head += "Connection: X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n";
  const std::string out = Render(Request(head));
  EXPECT_EQ(out.find("X-Hop"), std::string::npos) << out;
  EXPECT_TRUE(HasLine(out, "X-Kept: 2")) << out;
}

TEST(UpstreamRequestHeadTest, AddsClientIpToEveryForwardedForField) {
  const std::string out =
      Render(Request("GET / HTTP/1.1\r\n"
                     "X-Forwarded-For: 203.0.113.1, 198.51.100.2\r\n"
                     "Host: a\r\n"
                     "x-forwarded-for:198.51.100.3 \r\n"
                     "X-Forwarded-For:\r\n"
                     "\r\n"));
  EXPECT_TRUE(HasLine(out, "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 198.51.100.3, 192.0.2.7"))
      << out;
  EXPECT_EQ(Count(WithCase(out, ::tolower), "x-forwarded-for"), 1u) << out;
}

TEST(UpstreamRequestHeadTest, HopByHopForwardedForGetsOnlyTheClientIp) {
  const std::string out =
      Render(Request("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: "
                     "6.6.6.6\r\n\r\n"));
  EXPECT_TRUE(HasLine(out, "X-Forwarded-For: 192.0.2.7")) << out;
  EXPECT_EQ(out.find("6.6.6.6"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, KeepsForwardedProto) {
  const std::string out =
      Render(Request("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n"));
  EXPECT_TRUE(HasLine(out, "X-Forwarded-Proto: https")) << out;
  EXPECT_EQ(Count(out, "X-Forwarded-Proto"), 1u) << out;
}

TEST(UpstreamRequestHeadTest, AppendsToVia) {
  ProxiedRequest request =
      Request("GET / HTTP/1.1\r\nVia: 1.0 fred, 1.1 p.example\r\nHost: a\r\nvia: 2 edge\r\n\r\n");
  request.via_name = "node-3";
  const std::string out = Render(request);
  EXPECT_TRUE(HasLine(out, "Via: 1.0 fred, 1.1 p.example, 2 edge, 1.1 node-3")) << out;
  EXPECT_EQ(Count(WithCase(out, ::tolower), "via:"), 1u) << out;
}

TEST(UpstreamRequestHeadTest, Http10ClientGetsHostAndHttp11) {
  const std::string out =
      Render(Request("GET /x HTTP/1.0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"));
  EXPECT_EQ(out,
            "GET /x HTTP/1.1\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.0 proxynode\r\n"  // Via names the protocol the message was received with
            "Host: 10.0.0.5:8080\r\n"
            "\r\n");
}

TEST(UpstreamRequestHeadTest, KeepsHostOfHttp10Client) {
  const std::string out = Render(Request("GET / HTTP/1.0\r\nhost: example.com\r\n\r\n"));
  EXPECT_TRUE(HasLine(out, "host: example.com")) << out;
  EXPECT_EQ(out.find("10.0.0.5"), std::string::npos) << out;
}

TEST(UpstreamRequestHeadTest, FramesTheBodyAsTold) {
  constexpr std::string_view kHead =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n";
  ProxiedRequest request = Request(kHead);

  request.framing = BodyFraming::kNone;
  std::string out = Render(request);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos) << out;

  request.framing = BodyFraming::kContentLength;
  request.content_length = 18446744073709551615u;
  out = Render(request);
  EXPECT_TRUE(out.ends_with("\r\nContent-Length: 18446744073709551615\r\n\r\n")) << out;
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos) << out;

  request.framing = BodyFraming::kChunked;
  out = Render(request);
  EXPECT_TRUE(out.ends_with("\r\nTransfer-Encoding: chunked\r\n\r\n")) << out;
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
}

// --- Response to the client ---

TEST(ClientResponseHeadTest, ForwardsFieldsAndAddsViaDateAndFraming) {
  ProxiedResponse response = Response(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nx-trace: abc\r\n\r\n");
  response.framing = BodyFraming::kContentLength;
  response.content_length = 5;
  EXPECT_EQ(Render(response),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain\r\n"
            "x-trace: abc\r\n"
            "Via: 1.1 proxynode\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Content-Length: 5\r\n"
            "\r\n");
}

TEST(ClientResponseHeadTest, Http10UpstreamGetsHttp11StatusLineAndVia10) {
  const std::string out = Render(Response("HTTP/1.0 404 Not Found\r\n\r\n"));
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << out;
  EXPECT_TRUE(HasLine(out, "Via: 1.0 proxynode")) << out;
}

TEST(ClientResponseHeadTest, KeepsReasonAsSent) {
  auto status_line = [](std::string_view head) {
    const std::string out = Render(Response(head));
    return out.substr(0, out.find("\r\n"));
  };
  EXPECT_EQ(status_line("HTTP/1.1 299 All  fine, mostly\r\n\r\n"),
            "HTTP/1.1 299 All  fine, mostly");
  EXPECT_EQ(status_line("HTTP/1.1 204 \r\n\r\n"), "HTTP/1.1 204 ");
  EXPECT_EQ(status_line("HTTP/1.1 204\r\n\r\n"), "HTTP/1.1 204 ");
}

class ResponseDropsField : public testing::TestWithParam<std::string_view> {};

TEST_P(ResponseDropsField, InAnyCase) {
  for (const std::string& name : {std::string(GetParam()), WithCase(GetParam(), ::tolower),
                                  WithCase(GetParam(), ::toupper)}) {
    SCOPED_TRACE(name);
    const std::string head = "HTTP/1.1 200 OK\r\n" + name + ": dropped-value\r\nX-Kept: 1\r\n\r\n";
    const std::string out = Render(Response(head));
    EXPECT_EQ(out.find("dropped-value"), std::string::npos) << out;
    EXPECT_TRUE(HasLine(out, "X-Kept: 1")) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(HopByHopAndReframed, ResponseDropsField,
                         testing::Values("Connection", "Keep-Alive", "Proxy-Connection", "TE",
                                         "Trailer", "Transfer-Encoding", "Upgrade",
                                         "Proxy-Authorization", "Proxy-Authenticate",
                                         "Content-Length"),
                         FieldTestName);

TEST(ClientResponseHeadTest, DropsFieldsTheUpstreamConnectionFieldNames) {
  const std::string out =
      Render(Response("HTTP/1.1 200 OK\r\n"
                      "X-Upstream-Hop: 1\r\n"
                      "Connection: close, x-upstream-hop\r\n"
                      "X-Kept: 2\r\n"
                      "\r\n"));
  EXPECT_EQ(out.find("X-Upstream-Hop"), std::string::npos) << out;
  EXPECT_EQ(out.find("Connection"), std::string::npos) << out;
  EXPECT_TRUE(HasLine(out, "X-Kept: 2")) << out;
}

TEST(ClientResponseHeadTest, AppendsToVia) {
  ProxiedResponse response =
      Response("HTTP/1.1 200 OK\r\nVia: 1.1 inner\r\nVIA: 1.0 deeper\r\n\r\n");
  response.via_name = "edge";
  const std::string out = Render(response);
  EXPECT_TRUE(HasLine(out, "Via: 1.1 inner, 1.0 deeper, 1.1 edge")) << out;
  EXPECT_EQ(Count(WithCase(out, ::tolower), "via:"), 1u) << out;
}

TEST(ClientResponseHeadTest, KeepsTheUpstreamDate) {
  const std::string out =
      Render(Response("HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"));
  EXPECT_TRUE(HasLine(out, "date: Sun, 06 Nov 1994 08:49:37 GMT")) << out;
  EXPECT_EQ(out.find("1970"), std::string::npos) << out;
}

TEST(ClientResponseHeadTest, AddsDateWhenTheUpstreamDateIsHopByHop) {
  const std::string out = Render(Response(
      "HTTP/1.1 200 OK\r\nConnection: Date\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"));
  EXPECT_EQ(out.find("1994"), std::string::npos) << out;
  EXPECT_TRUE(HasLine(out, "Date: Thu, 01 Jan 1970 00:00:00 GMT")) << out;
}

TEST(ClientResponseHeadTest, FramesTheBodyAsTold) {
  constexpr std::string_view kHead =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n";
  ProxiedResponse response = Response(kHead);

  response.framing = BodyFraming::kNone;
  std::string out = Render(response);
  EXPECT_TRUE(out.ends_with("GMT\r\n\r\n")) << out;

  response.framing = BodyFraming::kContentLength;
  response.content_length = 0;
  out = Render(response);
  EXPECT_TRUE(out.ends_with("GMT\r\nContent-Length: 0\r\n\r\n")) << out;

  response.framing = BodyFraming::kChunked;
  out = Render(response);
  EXPECT_TRUE(out.ends_with("GMT\r\nTransfer-Encoding: chunked\r\n\r\n")) << out;

  // The client reads to the close; saying so keeps it from waiting for more.
  response.framing = BodyFraming::kUntilClose;
  out = Render(response);
  EXPECT_TRUE(out.ends_with("GMT\r\nConnection: close\r\n\r\n")) << out;
}

TEST(ClientResponseHeadTest, SaysConnectionAsTold) {
  ProxiedResponse response = Response("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");

  response.connection = ClientConnection::kDefault;
  EXPECT_EQ(Render(response).find("Connection"), std::string::npos);

  response.connection = ClientConnection::kClose;
  EXPECT_TRUE(Render(response).ends_with("\r\nConnection: close\r\n\r\n"));

  response.connection = ClientConnection::kKeepAlive;
  EXPECT_TRUE(Render(response).ends_with("\r\nConnection: keep-alive\r\n\r\n"));
}

// --- Chunked encoding ---

TEST(ChunkTest, WritesHexSizeDataAndCrlf) {
  std::string out = "x";
  AppendChunk(out, "hello");
  EXPECT_EQ(out, "x5\r\nhello\r\n");

  out.clear();
  AppendChunk(out, std::string(4096 + 255, 'a'));
  EXPECT_EQ(out.substr(0, 6), "10ff\r\n");
  EXPECT_EQ(out.size(), 6u + 4096 + 255 + 2);
  EXPECT_TRUE(out.ends_with("a\r\n"));
}

TEST(ChunkTest, EmptyDataWritesNothing) {
  std::string out = "x";
  AppendChunk(out, "");
  EXPECT_EQ(out, "x");
}

TEST(ChunkTest, LastChunkEndsTheBody) {
  std::string out = "1\r\na\r\n";
  AppendLastChunk(out);
  EXPECT_EQ(out, "1\r\na\r\n0\r\n\r\n");
}

UpstreamResponseHead Upstream(BodyFraming framing, bool has_content_length = false) {
  UpstreamResponseHead head;
  head.status = 200;
  head.framing = framing;
  head.has_content_length = has_content_length;
  return head;
}

TEST(ReframeForClientTest, ALengthIsKeptAndKeepAliveNeedsNoField) {
  ClientReframing reframing = ReframeForClient(Upstream(BodyFraming::kContentLength, true), {});
  EXPECT_EQ(reframing.framing, BodyFraming::kContentLength);
  EXPECT_EQ(reframing.connection, ClientConnection::kDefault);
  EXPECT_FALSE(reframing.close_after);
}

TEST(ReframeForClientTest, AnUnknownLengthGoesChunkedToHttp11AndCloseDelimitedToHttp10) {
  for (BodyFraming upstream : {BodyFraming::kChunked, BodyFraming::kUntilClose}) {
    ClientReframing modern = ReframeForClient(Upstream(upstream), {});
    EXPECT_EQ(modern.framing, BodyFraming::kChunked);
    EXPECT_FALSE(modern.close_after);
    ClientReframing old = ReframeForClient(Upstream(upstream), {.http10 = true});
    EXPECT_EQ(old.framing, BodyFraming::kUntilClose);
    EXPECT_TRUE(old.close_after) << "only the close can end the body";
    EXPECT_EQ(old.connection, ClientConnection::kClose);
  }
}

TEST(ReframeForClientTest, AHeadResponseKeepsTheLengthAGetWouldHaveHad) {
  EXPECT_EQ(ReframeForClient(Upstream(BodyFraming::kNone, true), {.head_only = true}).framing,
            BodyFraming::kContentLength);
  EXPECT_EQ(ReframeForClient(Upstream(BodyFraming::kChunked), {.head_only = true}).framing,
            BodyFraming::kNone);
}

TEST(ReframeForClientTest, AnHttp10ClientKeptAliveSaysSoAndACloseWins) {
  EXPECT_EQ(
      ReframeForClient(Upstream(BodyFraming::kContentLength, true), {.http10 = true}).connection,
      ClientConnection::kKeepAlive);
  ClientReframing closing = ReframeForClient(Upstream(BodyFraming::kContentLength, true),
                                             {.http10 = true, .close = true});
  EXPECT_EQ(closing.connection, ClientConnection::kClose);
  EXPECT_TRUE(closing.close_after);
}

}  // namespace
}  // namespace proxynode
