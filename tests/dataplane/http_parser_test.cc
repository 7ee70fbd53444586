#include "dataplane/http/http_parser.h"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/dataplane/parse_test_support.h"

namespace proxynode {
namespace {

using namespace std::string_literals;

struct Message {
  RequestHead head;
  std::string body;
  bool complete = false;
};

struct FeedOutcome {
  std::vector<Message> messages;  // every message whose head completed, in order
  ParseError error = ParseError::kNone;
  std::string leftover;  // bytes still unconsumed at the end
};

// Simulates a connection (see parse_test::FeedParts): the parser is Reset() after each
// message.
FeedOutcome Feed(const std::vector<std::string_view>& parts, const ParserLimits& limits = {}) {
  FeedOutcome out;
  HttpRequestParser parser(limits);
  const auto on_result = [&](const ParseResult& r, std::string_view input) {
    if (r.event == ParseEvent::kHeadComplete) {
      EXPECT_EQ(r.consumed, parser.head().header_bytes);
      out.messages.emplace_back().head = parser.head();
    }
    return parse_test::RecordResult(parser, r, input, &out.messages, &out.error,
                                    [&] { parser.Reset(); });
  };
  parse_test::FeedParts(
      parts, [&](std::string_view input) { return parser.Parse(input); }, on_result, &out.leftover);
  return out;
}

FeedOutcome FeedWhole(std::string_view input, const ParserLimits& limits = {}) {
  return Feed({input}, limits);
}

// One complete message expected, no error, nothing left over.
Message FeedOne(std::string_view input, const ParserLimits& limits = {}) {
  FeedOutcome out = FeedWhole(input, limits);
  EXPECT_EQ(out.error, ParseError::kNone) << ParseErrorName(out.error);
  EXPECT_TRUE(out.leftover.empty());
  if (out.messages.size() != 1) {
    ADD_FAILURE() << "expected 1 message, got " << out.messages.size();
    return {};
  }
  EXPECT_TRUE(out.messages[0].complete);
  return out.messages[0];
}

void ExpectSameOutcome(const FeedOutcome& want, const FeedOutcome& got) {
  EXPECT_EQ(want.error, got.error)
      << ParseErrorName(want.error) << " vs " << ParseErrorName(got.error);
  // After an error the unconsumed bytes depend on how far the input had arrived.
  if (want.error == ParseError::kNone) {
    EXPECT_EQ(want.leftover, got.leftover);
  }
  ASSERT_EQ(want.messages.size(), got.messages.size());
  for (size_t i = 0; i < want.messages.size(); ++i) {
    const RequestHead& a = want.messages[i].head;
    const RequestHead& b = got.messages[i].head;
    EXPECT_EQ(a.method, b.method);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.target, b.target);
    EXPECT_EQ(a.target_form, b.target_form);
    EXPECT_EQ(a.authority, b.authority);
    EXPECT_EQ(a.keep_alive, b.keep_alive);
    EXPECT_EQ(a.chunked, b.chunked);
    EXPECT_EQ(a.expect_continue, b.expect_continue);
    EXPECT_EQ(a.content_length, b.content_length);
    EXPECT_EQ(a.header_bytes, b.header_bytes);
    EXPECT_EQ(want.messages[i].body, got.messages[i].body);
    EXPECT_EQ(want.messages[i].complete, got.messages[i].complete);
  }
}

// Feeds `input` whole, split in two at every position, and one byte at a time.
void ExpectSplitInvariant(std::string_view input, const ParserLimits& limits = {}) {
  parse_test::ExpectSameAtEverySplit(
      input, [&](const std::vector<std::string_view>& parts) { return Feed(parts, limits); },
      ExpectSameOutcome);
}

const std::string kChunkedWithTrailers =
    "POST /upload?x=1 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;name=value\r\n"
    "hello\r\n"
    "6 ; q=\"a \\\"b\\\"\" ;flag\r\n"
    " world\r\n"
    "A\r\n"
    "0123456789\r\n"
    "0\r\n"
    "X-Checksum: abc\r\n"
    "X-Other:\tvalue \r\n"
    "\r\n";

const std::string kPipelined =
    "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
    "POST /second HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nabc\r\n0\r\n\r\n";

// ---------------------------------------------------------------------------------------
// Valid requests.

TEST(HttpParserTest, SimpleGet) {
  const std::string input = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
  const Message m = FeedOne(input);
  EXPECT_EQ(m.head.method, HttpMethod::kGet);
  EXPECT_EQ(m.head.version, HttpVersion::kHttp11);
  EXPECT_EQ(m.head.target, "/index.html?q=1");
  EXPECT_TRUE(m.head.keep_alive);
  EXPECT_FALSE(m.head.chunked);
  EXPECT_FALSE(m.head.expect_continue);
  EXPECT_EQ(m.head.content_length, 0u);
  EXPECT_EQ(m.head.header_bytes, input.size());
  EXPECT_EQ(m.body, "");
}

TEST(HttpParserTest, HeadMethod) {
  const Message m = FeedOne("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(m.head.method, HttpMethod::kHead);
}

TEST(HttpParserTest, MethodsAreMappedCaseSensitively) {
  const std::pair<std::string, HttpMethod> cases[] = {
      {"GET", HttpMethod::kGet},        {"HEAD", HttpMethod::kHead},
      {"POST", HttpMethod::kPost},      {"PUT", HttpMethod::kPut},
      {"DELETE", HttpMethod::kDelete},  {"OPTIONS", HttpMethod::kOptions},
      {"PATCH", HttpMethod::kPatch},    {"TRACE", HttpMethod::kTrace},
      {"get", HttpMethod::kOther},      {"M-SEARCH", HttpMethod::kOther},
      {"PROPFIND", HttpMethod::kOther},
  };
  for (const auto& [text, method] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(FeedOne(text + " / HTTP/1.1\r\nHost: a\r\n\r\n").head.method, method);
  }
  // CONNECT is known, and refused (HttpParserRejectTest).
  EXPECT_EQ(MethodFromString("CONNECT"), HttpMethod::kConnect);
}

// RFC 9112 3.2.2: what routes match and what goes upstream is the path and query; the
// authority replaces Host. The scheme and host are case-insensitive, and an empty path is "/".
TEST(HttpParserTest, AbsoluteFormKeepsItsPathAndQueryAndItsAuthority) {
  const struct {
    std::string_view target;
    std::string_view path;
    std::string_view authority;
  } cases[] = {
      {"http://example.com:8080/x?y=z", "/x?y=z", "example.com:8080"},
      {"HTTPS://Example.COM/a/b", "/a/b", "Example.COM"},
      {"http://example.com", "/", "example.com"},
      {"http://example.com?q", "/?q", "example.com"},
      {"http://[::1]:8443/v6", "/v6", "[::1]:8443"},
      {"http://10.0.0.7:/", "/", "10.0.0.7:"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    const Message m = FeedOne("GET " + std::string(c.target) + " HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(m.head.target_form, TargetForm::kAbsolute);
    EXPECT_EQ(m.head.target, c.path);
    EXPECT_EQ(m.head.authority, c.authority);
  }
  const Message origin = FeedOne("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(origin.head.target_form, TargetForm::kOrigin);
  EXPECT_EQ(origin.head.authority, "");
}

TEST(HttpParserTest, OptionsAsteriskIsAsteriskForm) {
  const Message m = FeedOne("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m.head.method, HttpMethod::kOptions);
  EXPECT_EQ(m.head.target_form, TargetForm::kAsterisk);
  EXPECT_EQ(m.head.target, "*");
}

TEST(HttpParserTest, PostWithContentLength) {
  const std::string head = "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  const Message m = FeedOne(head + "hello world");
  EXPECT_EQ(m.head.method, HttpMethod::kPost);
  EXPECT_EQ(m.head.content_length, 11u);
  EXPECT_EQ(m.head.header_bytes, head.size());
  EXPECT_EQ(m.body, "hello world");
}

TEST(HttpParserTest, EmptyBodyWithContentLengthZero) {
  const Message m = FeedOne("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(m.head.content_length, 0u);
  EXPECT_EQ(m.body, "");
}

TEST(HttpParserTest, ChunkedWithExtensionsAndTrailers) {
  const Message m = FeedOne(kChunkedWithTrailers);
  EXPECT_TRUE(m.head.chunked);
  EXPECT_EQ(m.head.content_length, 0u);
  EXPECT_EQ(m.head.target, "/upload?x=1");
  EXPECT_EQ(m.body, "hello world0123456789");
}

TEST(HttpParserTest, ChunkedUppercaseHexAndLastChunkWithExtension) {
  const Message m = FeedOne(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1f\r\n0123456789abcdef0123456789abcde\r\n000;end\r\n\r\n");
  EXPECT_EQ(m.body.size(), 31u);
}

TEST(HttpParserTest, Http10DefaultsToClose) {
  const Message m = FeedOne("GET / HTTP/1.0\r\n\r\n");  // Host is optional in 1.0
  EXPECT_EQ(m.head.version, HttpVersion::kHttp10);
  EXPECT_FALSE(m.head.keep_alive);
}

TEST(HttpParserTest, Http10KeepAliveOptIn) {
  const Message m = FeedOne("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(m.head.keep_alive);
}

TEST(HttpParserTest, Http11ConnectionClose) {
  EXPECT_FALSE(FeedOne("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").head.keep_alive);
}

TEST(HttpParserTest, CloseWinsOverKeepAlive) {
  EXPECT_FALSE(FeedOne("GET / HTTP/1.0\r\nConnection: keep-alive, CLOSE\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(FeedOne("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                       "Connection: upgrade,close\r\n\r\n")
                   .head.keep_alive);
}

TEST(HttpParserTest, Expect100Continue) {
  const Message m =
      FeedOne("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(m.head.expect_continue);
  EXPECT_EQ(m.body, "ok");
  // Expect is an HTTP/1.1 feature; a 1.0 client does not wait for 100.
  EXPECT_FALSE(FeedOne("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
}

TEST(HttpParserTest, HigherMinorVersionIsTreatedAs11) {
  EXPECT_EQ(FeedOne("GET / HTTP/1.9\r\nHost: a\r\n\r\n").head.version, HttpVersion::kHttp11);
}

TEST(HttpParserTest, LeadingEmptyLinesAreSkipped) {
  const std::string input = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const Message m = FeedOne(input);
  EXPECT_EQ(m.head.target, "/");
  EXPECT_EQ(m.head.header_bytes, input.size());
}

TEST(HttpParserTest, HeaderValueOwsIsTrimmed) {
  const Message m = FeedOne(
      "POST / HTTP/1.1\r\nHost:a\r\nContent-Length: \t 3 \t\r\nConnection:\tclose  \r\n"
      "Expect:  100-continue\t\r\n\r\nabc");
  EXPECT_EQ(m.head.content_length, 3u);
  EXPECT_FALSE(m.head.keep_alive);
  EXPECT_TRUE(m.head.expect_continue);
  EXPECT_EQ(m.body, "abc");
}

TEST(HttpParserTest, HeaderNamesAreCaseInsensitive) {
  const Message m = FeedOne(
      "POST / HTTP/1.1\r\nhOsT: a\r\ntransfer-ENCODING: Chunked\r\nCONNECTION: Close\r\n\r\n"
      "2\r\nhi\r\n0\r\n\r\n");
  EXPECT_TRUE(m.head.chunked);
  EXPECT_FALSE(m.head.keep_alive);
  EXPECT_EQ(m.body, "hi");
  EXPECT_EQ(FeedOne("POST / HTTP/1.1\r\nHOST: a\r\ncontent-length: 1\r\n\r\nx").body, "x");
}

TEST(HttpParserTest, TransferEncodingIgnoresEmptyListElements) {
  const Message m = FeedOne(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , ,chunked ,\r\n\r\n1\r\nx\r\n0\r\n\r\n");
  EXPECT_TRUE(m.head.chunked);
  EXPECT_EQ(m.body, "x");
}

TEST(HttpParserTest, ObsTextAndTabsInValuesAreAllowed) {
  const Message m = FeedOne("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xC3\xA9\tau lait\r\n\r\n");
  EXPECT_EQ(m.head.target, "/");
}

TEST(HttpParserTest, PipelinedRequestsInOneBuffer) {
  const FeedOutcome out = FeedWhole(kPipelined);
  EXPECT_EQ(out.error, ParseError::kNone);
  ASSERT_EQ(out.messages.size(), 2u);
  EXPECT_EQ(out.messages[0].head.target, "/first");
  EXPECT_EQ(out.messages[0].body, "");
  EXPECT_TRUE(out.messages[0].complete);
  EXPECT_EQ(out.messages[1].head.target, "/second");
  EXPECT_EQ(out.messages[1].head.method, HttpMethod::kPost);
  EXPECT_EQ(out.messages[1].body, "abc");
  EXPECT_TRUE(out.messages[1].complete);
  EXPECT_TRUE(out.leftover.empty());
}

// ---------------------------------------------------------------------------------------
// The Parse() contract, driven by hand.

TEST(HttpParserTest, IncompleteHeadKeepsBytes) {
  HttpRequestParser parser;
  EXPECT_TRUE(parser.AtMessageStart());
  const std::string partial = "GET / HTTP/1.1\r\nHost: a\r\n";
  ParseResult r = parser.Parse(partial);
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_FALSE(parser.AtMessageStart());

  const std::string full = partial + "\r\nEXTRA";
  r = parser.Parse(full);
  EXPECT_EQ(r.event, ParseEvent::kHeadComplete);
  EXPECT_EQ(r.consumed, full.size() - 5);  // exactly the head
  EXPECT_EQ(parser.head().header_bytes, r.consumed);
}

TEST(HttpParserTest, NoBodyCompletesRightAfterHeadAndStaysDone) {
  HttpRequestParser parser;
  const std::string input = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
  ParseResult r = parser.Parse(input);
  ASSERT_EQ(r.event, ParseEvent::kHeadComplete);
  const std::string_view rest = std::string_view(input).substr(r.consumed);
  for (int i = 0; i < 3; ++i) {
    r = parser.Parse(rest);
    EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
    EXPECT_EQ(r.consumed, 0u);  // the pipelined bytes stay with the caller
  }
  parser.Reset();
  EXPECT_TRUE(parser.AtMessageStart());
  r = parser.Parse(rest);
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserTest, FixedBodyIsDeliveredPiecewise) {
  HttpRequestParser parser;
  ParseResult r = parser.Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(r.event, ParseEvent::kHeadComplete);
  r = parser.Parse("");
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.Parse("he");
  EXPECT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "he");
  EXPECT_EQ(r.consumed, 2u);
  r = parser.Parse("lloGET");  // only the rest of the body is taken
  EXPECT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "llo");
  EXPECT_EQ(r.consumed, 3u);
  r = parser.Parse("GET");
  EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserTest, ChunkFramingIsConsumedIncrementally) {
  HttpRequestParser parser;
  ParseResult r = parser.Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(r.event, ParseEvent::kHeadComplete);
  r = parser.Parse("4\r");  // partial size line: kept by the caller
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.Parse("4\r\n");  // complete size line, no data yet
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 3u);
  r = parser.Parse("ab");
  EXPECT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "ab");
  r = parser.Parse("cd\r\n0\r\n");
  EXPECT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "cd");
  EXPECT_EQ(r.consumed, 2u);
  r = parser.Parse("\r\n0\r\nX: y\r\n");
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 11u);
  r = parser.Parse("\r\nnext");
  EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
  EXPECT_EQ(r.consumed, 2u);
}

TEST(HttpParserTest, HeadLimitIsInclusive) {
  const std::string input = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  ParserLimits limits;
  limits.max_header_bytes = input.size();
  EXPECT_EQ(FeedWhole(input, limits).error, ParseError::kNone);
  limits.max_header_bytes = input.size() - 1;
  EXPECT_EQ(FeedWhole(input, limits).error, ParseError::kHeaderTooLarge);
  limits.max_header_count = 0;  // Host alone is one field too many
  limits.max_header_bytes = input.size();
  EXPECT_EQ(FeedWhole(input, limits).error, ParseError::kHeaderTooLarge);
}

TEST(HttpParserTest, BareLfFailsBeforeTheHeadIsComplete) {
  HttpRequestParser parser;
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\nHo").error, ParseError::kBadRequestLine);
  parser.Reset();
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nHost: a\nX").error, ParseError::kBadHeader);
}

TEST(HttpParserTest, TooManyLeadingEmptyLinesAreRejected) {
  EXPECT_EQ(FeedWhole("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").error,
            ParseError::kBadRequestLine);
}

TEST(HttpParserTest, ErrorIsStickyUntilReset) {
  HttpRequestParser parser;
  ParseResult r = parser.Parse("GET / HTTP/2.0\r\n\r\n");
  EXPECT_EQ(r.event, ParseEvent::kError);
  EXPECT_EQ(r.error, ParseError::kUnsupportedVersion);
  r = parser.Parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.event, ParseEvent::kError);
  EXPECT_EQ(r.error, ParseError::kUnsupportedVersion);
  EXPECT_EQ(r.consumed, 0u);
  parser.Reset();
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").event, ParseEvent::kHeadComplete);
}

TEST(HttpParserTest, ResetClearsHeadAndKeepsTargetCapacity) {
  HttpRequestParser parser;
  // Built by appending: GCC 12 at -O3 warns (-Wrestrict, a false positive, GCC bug 105329)
  // on "literal" + std::string.
  std::string long_target(1, '/');
  long_target.append(200, 'x');
  ASSERT_EQ(parser
                .Parse("POST " + long_target +
                       " HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n")
                .event,
            ParseEvent::kHeadComplete);
  const size_t capacity = parser.head().target.capacity();
  parser.Reset();
  const RequestHead& head = parser.head();
  EXPECT_TRUE(head.target.empty());
  EXPECT_EQ(head.target.capacity(), capacity);
  EXPECT_TRUE(head.authority.empty());
  EXPECT_EQ(head.target_form, TargetForm::kOrigin);
  EXPECT_EQ(head.method, HttpMethod::kGet);
  EXPECT_EQ(head.version, HttpVersion::kHttp11);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.header_bytes, 0u);
  EXPECT_TRUE(parser.AtMessageStart());
}

TEST(HttpParserTest, StatusAndNameForEveryError) {
  const struct {
    ParseError error;
    int status;
    std::string_view name;
  } cases[] = {
      {ParseError::kNone, 200, "none"},
      {ParseError::kBadRequestLine, 400, "bad_request_line"},
      {ParseError::kTargetTooLong, 414, "target_too_long"},
      {ParseError::kConnectUnsupported, 501, "connect_unsupported"},
      {ParseError::kUnsupportedVersion, 505, "unsupported_version"},
      {ParseError::kBadHeader, 400, "bad_header"},
      {ParseError::kMissingHost, 400, "missing_host"},
      {ParseError::kBadContentLength, 400, "bad_content_length"},
      {ParseError::kConflictingFraming, 400, "conflicting_framing"},
      {ParseError::kBadTransferEncoding, 400, "bad_transfer_encoding"},
      {ParseError::kUnsupportedTransferCoding, 501, "unsupported_transfer_coding"},
      {ParseError::kBadChunk, 400, "bad_chunk"},
      {ParseError::kHeaderTooLarge, 431, "header_too_large"},
      {ParseError::kBodyTooLarge, 413, "body_too_large"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(StatusForParseError(c.error), c.status) << c.name;
    EXPECT_EQ(ParseErrorName(c.error), c.name);
  }
}

// ---------------------------------------------------------------------------------------
// Rejections: each input fails with one exact error, whole or split anywhere.

struct RejectCase {
  std::string name;
  std::string input;
  ParseError error;
  int status;
  ParserLimits limits = {};
};

std::string Req(std::string_view fields) {
  return "POST / HTTP/1.1\r\n" + std::string(fields) + "\r\n";
}

std::string Chunked(std::string_view body) {
  return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(body);
}

std::vector<RejectCase> RejectCases() {
  ParserLimits small_head;
  small_head.max_header_bytes = 64;
  ParserLimits few_fields;
  few_fields.max_header_count = 3;
  ParserLimits small_body;
  small_body.max_body_bytes = 10;
  ParserLimits small_trailers;
  small_trailers.max_header_bytes = 96;
  return {
      // Framing.
      {"ContentLengthAndTransferEncoding",
       Req("Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n") +
           "5\r\nhello\r\n0\r\n\r\n",
       ParseError::kConflictingFraming, 400},
      {"DuplicateContentLengthSameValue",
       Req("Host: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n") + "hello",
       ParseError::kBadContentLength, 400},
      {"DuplicateContentLengthDifferentValue",
       Req("Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n") + "hello",
       ParseError::kBadContentLength, 400},
      {"ContentLengthAbc", Req("Host: a\r\nContent-Length: abc\r\n"), ParseError::kBadContentLength,
       400},
      {"ContentLengthPlusSign", Req("Host: a\r\nContent-Length: +5\r\n") + "hello",
       ParseError::kBadContentLength, 400},
      {"ContentLengthNegative", Req("Host: a\r\nContent-Length: -1\r\n"),
       ParseError::kBadContentLength, 400},
      {"ContentLengthCommaList", Req("Host: a\r\nContent-Length: 1,1\r\n") + "x",
       ParseError::kBadContentLength, 400},
      {"ContentLengthEmpty", Req("Host: a\r\nContent-Length: \r\n"), ParseError::kBadContentLength,
       400},
      {"ContentLengthInnerSpace", Req("Host: a\r\nContent-Length: 1 2\r\n"),
       ParseError::kBadContentLength, 400},
      {"ContentLengthOverflow", Req("Host: a\r\nContent-Length: 99999999999999999999\r\n"),
       ParseError::kBadContentLength, 400},
      {"TransferEncodingChunkedIdentity",
       Req("Host: a\r\nTransfer-Encoding: chunked, identity\r\n"), ParseError::kBadTransferEncoding,
       400},
      {"TransferEncodingChunkedTwice", Req("Host: a\r\nTransfer-Encoding: chunked, chunked\r\n"),
       ParseError::kBadTransferEncoding, 400},
      {"TransferEncodingChunkedThenAnotherField",
       Req("Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
       ParseError::kBadTransferEncoding, 400},
      {"TransferEncodingGzipChunked", Req("Host: a\r\nTransfer-Encoding: gzip, chunked\r\n"),
       ParseError::kUnsupportedTransferCoding, 501},
      {"TransferEncodingGzipFieldThenChunkedField",
       Req("Host: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
       ParseError::kUnsupportedTransferCoding, 501},
      {"TransferEncodingGzipAlone", Req("Host: a\r\nTransfer-Encoding: gzip\r\n"),
       ParseError::kBadTransferEncoding, 400},
      {"TransferEncodingEmpty", Req("Host: a\r\nTransfer-Encoding: , \r\n"),
       ParseError::kBadTransferEncoding, 400},
      {"TransferEncodingChunkedWithParameter", Req("Host: a\r\nTransfer-Encoding: chunked;x=1\r\n"),
       ParseError::kBadTransferEncoding, 400},
      {"TransferEncodingInHttp10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       ParseError::kBadTransferEncoding, 400},
      // Field syntax.
      {"ObsFold", Req("Host: a\r\nX-Long: first\r\n  folded\r\n"), ParseError::kBadHeader, 400},
      {"ObsFoldWithTab", Req("Host: a\r\nX-Long: first\r\n\tfolded: x\r\n"), ParseError::kBadHeader,
       400},
      {"SpaceBeforeColon", Req("Host : a\r\n"), ParseError::kBadHeader, 400},
      {"TabBeforeColon", Req("Host: a\r\nContent-Length\t: 0\r\n"), ParseError::kBadHeader, 400},
      {"EmptyFieldName", Req("Host: a\r\n: value\r\n"), ParseError::kBadHeader, 400},
      {"FieldWithoutColon", Req("Host: a\r\nNoColon\r\n"), ParseError::kBadHeader, 400},
      {"NulInValue", Req("Host: a\r\nX-A: a\0b\r\n"s), ParseError::kBadHeader, 400},
      {"DelInValue", Req("Host: a\r\nX-A: a\x7F\r\n"), ParseError::kBadHeader, 400},
      {"BareCrInValue", Req("Host: a\r\nX-A: a\rb\r\n"), ParseError::kBadHeader, 400},
      {"BareLfFieldLineEnding", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", ParseError::kBadHeader,
       400},
      {"BareLfOnlyLineEndings", "GET / HTTP/1.1\r\nHost: a\n\n", ParseError::kBadHeader, 400},
      {"BareLfRequestLine", "GET / HTTP/1.1\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"MissingHostHttp11", Req("Content-Length: 0\r\n"), ParseError::kMissingHost, 400},
      {"TwoHosts", Req("Host: a\r\nHost: b\r\n"), ParseError::kMissingHost, 400},
      {"TwoHostsHttp10", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", ParseError::kMissingHost,
       400},
      // Request line.
      {"Http20", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", ParseError::kUnsupportedVersion, 505},
      {"Http09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", ParseError::kUnsupportedVersion, 505},
      {"VersionWithoutMinor", "GET / HTTP/1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"VersionTwoDigitMinor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine,
       400},
      {"MissingVersion", "GET /\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"DoubleSpace", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"DoubleSpaceBeforeVersion", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"TrailingSpace", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"LowercaseVersion", "GET / http/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"BareCrInRequestLine", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine,
       400},
      {"BadMethodCharacter", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine,
       400},
      {"EmptyRequestLine", "\r\n\r\n\r\n\r\n\r\n\r\n", ParseError::kBadRequestLine, 400},
      // Request targets (RFC 9112 3.2): each form only where its method takes it.
      {"Connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
       ParseError::kConnectUnsupported, 501},
      {"AsteriskForGet", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine, 400},
      {"AuthorityFormForGet", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"RelativeTarget", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::kBadRequestLine,
       400},
      {"AbsoluteFormUserinfo", "GET http://user:pw@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormEmptyHost", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormPortOnly", "GET http://:80/x HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormBadPort", "GET http://a:8x/ HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormUnclosedIpLiteral", "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormOtherScheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      {"AbsoluteFormFragment", "GET http://example.com/x#f HTTP/1.1\r\nHost: a\r\n\r\n",
       ParseError::kBadRequestLine, 400},
      // Limits.
      {"OversizedHead", Req("Host: a\r\nX-Big: " + std::string(64, 'v') + "\r\n"),
       ParseError::kHeaderTooLarge, 431, small_head},
      // The request line alone over the limit: 414 when it is the target that runs on.
      {"OversizedTarget", std::string("GET /").append(100, 'a'), ParseError::kTargetTooLong, 414,
       small_head},
      {"OversizedTargetAfterEmptyLines", std::string("\r\nGET /").append(100, 'a'),
       ParseError::kTargetTooLong, 414, small_head},
      {"OversizedMethod", std::string(100, 'G'), ParseError::kBadRequestLine, 400, small_head},
      {"OversizedVersion", std::string("GET / HTTP/1.1").append(100, '1'),
       ParseError::kBadRequestLine, 400, small_head},
      {"OversizedIncompleteHead", std::string("GET / HTTP/1.1\r\nX: ").append(100, 'a'),
       ParseError::kHeaderTooLarge, 431, small_head},
      {"TooManyFields", Req("Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n"), ParseError::kHeaderTooLarge,
       431, few_fields},
      {"ContentLengthOverMaxBody", Req("Host: a\r\nContent-Length: 11\r\n") + "01234567890",
       ParseError::kBodyTooLarge, 413, small_body},
      {"ChunkedSumOverMaxBody", Chunked("6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n"),
       ParseError::kBodyTooLarge, 413, small_body},
      {"ChunkSizeFillsUint64", Chunked("ffffffffffffffff\r\n"), ParseError::kBodyTooLarge, 413},
      // Chunks.
      {"ChunkSizeNotHex", Chunked("zz\r\nabc\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkSizeEmpty", Chunked("\r\nabc\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkSize17HexDigits", Chunked("00000000000000001\r\na\r\n0\r\n\r\n"),
       ParseError::kBadChunk, 400},
      {"ChunkSizeNegative", Chunked("-1\r\n"), ParseError::kBadChunk, 400},
      {"ChunkSizeTrailingSpace", Chunked("1 \r\na\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkSizeBareLf", Chunked("1\na\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkExtensionWithoutName", Chunked("1;\r\na\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkExtensionUnterminatedQuote", Chunked("1;a=\"b\r\na\r\n0\r\n\r\n"),
       ParseError::kBadChunk, 400},
      {"ChunkExtensionEmptyValue", Chunked("1;a=\r\na\r\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"ChunkSizeLineTooLong", Chunked("1;a=" + std::string(5000, 'b') + "\r\na\r\n0\r\n\r\n"),
       ParseError::kBadChunk, 400},
      {"MissingCrlfAfterChunkData", Chunked("5\r\nhelloX\r\n0\r\n\r\n"), ParseError::kBadChunk,
       400},
      {"LfOnlyAfterChunkData", Chunked("5\r\nhello\n0\r\n\r\n"), ParseError::kBadChunk, 400},
      {"CrWithoutLfAfterChunkData", Chunked("5\r\nhello\rX0\r\n\r\n"), ParseError::kBadChunk, 400},
      // Trailers.
      {"OversizedTrailers",
       Chunked("1\r\na\r\n0\r\nX-T1: " + std::string(40, 't') +
               "\r\nX-T2: " + std::string(40, 't') + "\r\n\r\n"),
       ParseError::kHeaderTooLarge, 431, small_trailers},
      {"MalformedTrailer", Chunked("0\r\nX-T : v\r\n\r\n"), ParseError::kBadHeader, 400},
      {"BareLfInTrailers", Chunked("0\r\nX-T: v\n\r\n"), ParseError::kBadHeader, 400},
  };
}

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class HttpParserRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(HttpParserRejectTest, FailsWithExactError) {
  const RejectCase& c = GetParam();
  const FeedOutcome out = FeedWhole(c.input, c.limits);
  EXPECT_EQ(out.error, c.error) << "got " << ParseErrorName(out.error) << ", want "
                                << ParseErrorName(c.error);
  EXPECT_EQ(StatusForParseError(out.error), c.status);
  for (const Message& m : out.messages) EXPECT_FALSE(m.complete);
}

TEST_P(HttpParserRejectTest, SameErrorAtEverySplit) {
  const RejectCase& c = GetParam();
  ExpectSplitInvariant(c.input, c.limits);
}

INSTANTIATE_TEST_SUITE_P(All, HttpParserRejectTest, ::testing::ValuesIn(RejectCases()),
                         [](const ::testing::TestParamInfo<RejectCase>& param_info) {
                           return param_info.param.name;
                         });

// ---------------------------------------------------------------------------------------
// Valid inputs decode identically however the bytes arrive.

struct SplitCase {
  std::string name;
  std::string input;
};

void PrintTo(const SplitCase& c, std::ostream* os) { *os << c.name; }

class HttpParserSplitTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(HttpParserSplitTest, SameResultAtEverySplit) {
  const FeedOutcome whole = FeedWhole(GetParam().input);
  ASSERT_EQ(whole.error, ParseError::kNone) << ParseErrorName(whole.error);
  ASSERT_FALSE(whole.messages.empty());
  for (const Message& m : whole.messages) EXPECT_TRUE(m.complete);
  ExpectSplitInvariant(GetParam().input);
}

INSTANTIATE_TEST_SUITE_P(
    Valid, HttpParserSplitTest,
    ::testing::Values(
        SplitCase{"SimpleGet", "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"},
        SplitCase{"LeadingCrlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
        SplitCase{"ContentLength",
                  "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nhello, world"},
        SplitCase{"Http10KeepAlive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
        SplitCase{"ChunkedWithTrailers", kChunkedWithTrailers}, SplitCase{"Pipelined", kPipelined},
        SplitCase{"PipelinedFixedBodies",
                  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                  "\r\nPUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nde"
                  "GET /y HTTP/1.1\r\nHost: a\r\n\r\n"}),
    [](const ::testing::TestParamInfo<SplitCase>& param_info) { return param_info.param.name; });

// Arbitrary corruptions of valid messages must never crash, loop or over-consume.
TEST(HttpParserTest, MutatedInputsKeepInvariants) {
  std::mt19937 rng(12345);
  const char alphabet[] = {'\r', '\n', '\0', ' ', '\t', ':', ';', '"', '0', 'f', 'x', ','};
  parse_test::ExpectMutationsAgree(
      rng, {kChunkedWithTrailers, kPipelined}, std::string_view(alphabet, sizeof(alphabet)), 2000,
      [](int, const std::vector<std::string_view>& parts) { return Feed(parts); },
      ExpectSameOutcome);
}

}  // namespace
}  // namespace proxynode
