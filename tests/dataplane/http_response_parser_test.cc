#include "dataplane/http/http_response_parser.h"

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

struct Response {
  UpstreamResponseHead head;
  std::string raw_head;  // what RawHead() gave at kHeadComplete
  std::string body;
  bool complete = false;
};

struct Outcome {
  std::vector<Response> responses;  // every response whose head completed, in order
  ParseError error = ParseError::kNone;
  std::string leftover;  // bytes still unconsumed at the end
};

struct FeedOptions {
  bool request_was_head = false;  // for the first response; later ones answer GETs
  bool eof = false;               // the upstream closes after the last part: Finish()
  ResponseParserLimits limits;
};

// Drives the parser as the proxy would (see parse_test::FeedParts): the parser is Reset()
// after each response, and Finish() follows the last part if `options.eof`.
Outcome Feed(const std::vector<std::string_view>& parts, const FeedOptions& options = {}) {
  Outcome out;
  HttpResponseParser parser(options.limits);
  parser.Reset(options.request_was_head);
  const auto on_error = [&](const ParseResult& r, std::string_view input) {
    EXPECT_NE(r.error, ParseError::kNone);
    out.error = r.error;
    parse_test::ExpectStickyError(parser, r, input);
    EXPECT_EQ(parser.Finish().error, r.error);
  };
  const auto on_result = [&](const ParseResult& r, std::string_view input) {
    if (r.event == ParseEvent::kHeadComplete) {
      Response& response = out.responses.emplace_back();
      response.head = parser.head();
      response.raw_head = parser.RawHead(input, r);
      EXPECT_GE(response.head.status, 200);
      EXPECT_EQ(response.raw_head.size(), response.head.header_bytes);
      EXPECT_EQ(response.raw_head.substr(0, 5), "HTTP/");
      EXPECT_EQ(response.raw_head.substr(response.raw_head.size() - 4), "\r\n\r\n");
    } else if (r.event == ParseEvent::kError) {
      on_error(r, input);
      return false;
    }
    return parse_test::RecordResult(parser, r, input, &out.responses, &out.error,
                                    [&] { parser.Reset(false); });
  };
  if (!parse_test::FeedParts(
          parts, [&](std::string_view input) { return parser.Parse(input); }, on_result,
          &out.leftover)) {
    return out;
  }
  // An EOF between responses ends nothing: the proxy only waits for a response it asked for.
  const bool between_responses =
      !out.responses.empty() && out.responses.back().complete && parser.AtMessageStart();
  if (options.eof && !between_responses) {
    const ParseResult r = parser.Finish();
    if (r.event == ParseEvent::kError) {
      on_error(r, out.leftover);
      return out;
    }
    EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
    EXPECT_EQ(r.consumed, 0u);
    if (out.responses.empty()) {
      ADD_FAILURE() << "Finish() completed a response that has no head";
      return out;
    }
    out.responses.back().complete = true;
  }
  return out;
}

FeedOptions HeadRequest() {
  FeedOptions options;
  options.request_was_head = true;
  return options;
}

FeedOptions ThenEof() {
  FeedOptions options;
  options.eof = true;
  return options;
}

FeedOptions HeadLimit(size_t max_header_bytes) {
  FeedOptions options;
  options.limits.max_header_bytes = max_header_bytes;
  return options;
}

ResponseParserLimits Limit(size_t max_header_bytes) {
  ResponseParserLimits limits;
  limits.max_header_bytes = max_header_bytes;
  return limits;
}

Outcome FeedWhole(std::string_view input, const FeedOptions& options = {}) {
  return Feed({input}, options);
}

// One complete response expected, no error, nothing left over.
Response FeedOne(std::string_view input, const FeedOptions& options = {}) {
  const Outcome out = FeedWhole(input, options);
  EXPECT_EQ(out.error, ParseError::kNone) << ParseErrorName(out.error);
  EXPECT_EQ(out.leftover, "");
  if (out.responses.size() != 1) {
    ADD_FAILURE() << "expected 1 response, got " << out.responses.size();
    return {};
  }
  EXPECT_TRUE(out.responses[0].complete);
  return out.responses[0];
}

ParseError FeedError(std::string_view input, const FeedOptions& options = {}) {
  return FeedWhole(input, options).error;
}

void ExpectSameOutcome(const Outcome& want, const Outcome& got) {
  EXPECT_EQ(want.error, got.error)
      << ParseErrorName(want.error) << " vs " << ParseErrorName(got.error);
  if (want.error == ParseError::kNone) {
    EXPECT_EQ(want.leftover, got.leftover);
  }
  ASSERT_EQ(want.responses.size(), got.responses.size());
  for (size_t i = 0; i < want.responses.size(); ++i) {
    const Response& a = want.responses[i];
    const Response& b = got.responses[i];
    EXPECT_EQ(a.head.status, b.head.status);
    EXPECT_EQ(a.head.version, b.head.version);
    EXPECT_EQ(a.head.keep_alive, b.head.keep_alive);
    EXPECT_EQ(a.head.framing, b.head.framing);
    EXPECT_EQ(a.head.has_content_length, b.head.has_content_length);
    EXPECT_EQ(a.head.content_length, b.head.content_length);
    EXPECT_EQ(a.head.header_bytes, b.head.header_bytes);
    EXPECT_EQ(a.raw_head, b.raw_head);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.complete, b.complete);
  }
}

// Feeds `input` whole, split in two at every position, and one byte at a time.
void ExpectSplitInvariant(std::string_view input, const FeedOptions& options = {}) {
  parse_test::ExpectSameAtEverySplit(
      input, [&](const std::vector<std::string_view>& parts) { return Feed(parts, options); },
      ExpectSameOutcome);
}

const std::string kChunkedWithTrailers =
    "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;name=value\r\n"
    "hello\r\n"
    "6 ; q=\"a \\\"b\\\"\" ;flag\r\n"
    " world\r\n"
    "0\r\n"
    "X-Checksum: abc\r\n"
    "\r\n";

const std::string kInterimThenFinal =
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n"
    "ok";

// ---------------------------------------------------------------------------------------
// Framing (RFC 9112 6.3).

TEST(HttpResponseParserTest, ContentLength) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\n";
  const Response r = FeedOne(head + "hello");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.version, HttpVersion::kHttp11);
  EXPECT_EQ(r.head.framing, BodyFraming::kContentLength);
  EXPECT_TRUE(r.head.has_content_length);
  EXPECT_EQ(r.head.content_length, 5u);
  EXPECT_EQ(r.head.header_bytes, head.size());
  EXPECT_EQ(r.raw_head, head);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "hello");
}

TEST(HttpResponseParserTest, ContentLengthZeroCompletesAfterTheHead) {
  const Response r = FeedOne("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.head.framing, BodyFraming::kContentLength);
  EXPECT_EQ(r.body, "");
}

TEST(HttpResponseParserTest, ChunkedWithExtensionsAndTrailers) {
  const Response r = FeedOne(kChunkedWithTrailers);
  EXPECT_EQ(r.head.framing, BodyFraming::kChunked);
  EXPECT_EQ(r.head.content_length, 0u);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "hello world");
}

TEST(HttpResponseParserTest, CodingsBeforeChunkedStillFrameAsChunked) {
  const Response r = FeedOne(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nxy\r\n0\r\n\r\n");
  EXPECT_EQ(r.head.framing, BodyFraming::kChunked);
  EXPECT_EQ(r.body, "xy");
}

TEST(HttpResponseParserTest, NeitherLengthNorCodingRunsUntilClose) {
  const std::string input = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nstream of bytes";
  const Outcome open = FeedWhole(input);
  ASSERT_EQ(open.responses.size(), 1u);
  EXPECT_EQ(open.responses[0].head.framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(open.responses[0].head.keep_alive);  // the body ends with the connection
  EXPECT_EQ(open.responses[0].body, "stream of bytes");
  EXPECT_FALSE(open.responses[0].complete);  // until the upstream closes

  const Response closed = FeedOne(input, ThenEof());
  EXPECT_EQ(closed.body, "stream of bytes");
}

TEST(HttpResponseParserTest, CodingOtherThanChunkedLastRunsUntilClose) {
  for (std::string_view coding : {"gzip", "chunked, gzip", "x-custom;q=1"}) {
    SCOPED_TRACE(coding);
    const Response r = FeedOne(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "s + std::string(coding) + "\r\n\r\n0\r\n\r\n",
        ThenEof());
    EXPECT_EQ(r.head.framing, BodyFraming::kUntilClose);
    EXPECT_FALSE(r.head.keep_alive);
    EXPECT_EQ(r.body, "0\r\n\r\n");  // not decoded: the bytes pass through
  }
}

TEST(HttpResponseParserTest, UntilCloseWithEmptyBody) {
  const Response r = FeedOne("HTTP/1.0 200 OK\r\n\r\n", ThenEof());
  EXPECT_EQ(r.head.framing, BodyFraming::kUntilClose);
  EXPECT_EQ(r.body, "");
}

TEST(HttpResponseParserTest, NoBodyFor204And304WhateverTheFields) {
  for (std::string_view status : {"204 No Content", "304 Not Modified"}) {
    SCOPED_TRACE(status);
    // Content-Length on a 304 describes the selected representation, not this message.
    const Outcome out = FeedWhole("HTTP/1.1 "s + std::string(status) +
                                  "\r\nContent-Length: 10\r\n\r\n"
                                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(out.error, ParseError::kNone);
    ASSERT_EQ(out.responses.size(), 2u);
    EXPECT_EQ(out.responses[0].head.framing, BodyFraming::kNone);
    EXPECT_TRUE(out.responses[0].head.has_content_length);
    EXPECT_EQ(out.responses[0].head.content_length, 10u);  // reported, not framing
    EXPECT_TRUE(out.responses[0].head.keep_alive);
    EXPECT_TRUE(out.responses[0].complete);
    EXPECT_EQ(out.responses[1].body, "x");
  }
}

TEST(HttpResponseParserTest, ResponseToHeadHasNoBody) {
  // The next response follows at once: the 1000 bytes Content-Length announces never come.
  const Outcome out = FeedWhole(
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
      HeadRequest());
  EXPECT_EQ(out.error, ParseError::kNone);
  ASSERT_EQ(out.responses.size(), 2u);
  EXPECT_EQ(out.responses[0].head.framing, BodyFraming::kNone);
  EXPECT_EQ(out.responses[0].head.content_length, 1000u);  // what a GET would get
  EXPECT_TRUE(out.responses[0].complete);
  EXPECT_EQ(out.responses[0].body, "");
  EXPECT_EQ(out.responses[1].head.framing, BodyFraming::kChunked);  // answers a GET
  EXPECT_FALSE(out.responses[1].head.has_content_length);
  EXPECT_EQ(out.responses[1].body, "z");
}

TEST(HttpResponseParserTest, ResponseToHeadWithoutLengthDoesNotRunUntilClose) {
  const Response r = FeedOne("HTTP/1.1 200 OK\r\n\r\n", HeadRequest());
  EXPECT_EQ(r.head.framing, BodyFraming::kNone);
  EXPECT_TRUE(r.head.keep_alive);
}

// ---------------------------------------------------------------------------------------
// Interim 1xx responses.

TEST(HttpResponseParserTest, InterimResponsesAreSkipped) {
  const Response r = FeedOne(kInterimThenFinal);
  EXPECT_EQ(r.head.status, 201);
  EXPECT_EQ(r.raw_head, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(r.head.header_bytes, r.raw_head.size());
  EXPECT_EQ(r.body, "ok");
}

TEST(HttpResponseParserTest, InterimResponseIsConsumedBeforeTheFinalArrives) {
  HttpResponseParser parser;
  parser.Reset(false);
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_head = "HTTP/1.1 204 No Content\r\n\r\n";
  std::string buffer = interim + "HTTP/1.1 2";
  ParseResult r = parser.Parse(buffer);
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, interim.size());
  EXPECT_FALSE(parser.AtMessageStart());
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer);  // asking again with the same bytes changes nothing
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);

  buffer = final_head;
  r = parser.Parse(buffer);
  ASSERT_EQ(r.event, ParseEvent::kHeadComplete);
  EXPECT_EQ(r.consumed, final_head.size());
  EXPECT_EQ(buffer.substr(0, r.consumed), final_head);  // no interim bytes were left
  EXPECT_EQ(parser.head().status, 204);
}

TEST(HttpResponseParserTest, RawHeadIsTheWholeConsumedSpanWithoutInterim) {
  HttpResponseParser parser;
  parser.Reset(false);
  const std::string head = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n";
  const std::string input = head + "abc";
  const ParseResult r = parser.Parse(input);
  ASSERT_EQ(r.event, ParseEvent::kHeadComplete);
  EXPECT_EQ(input.substr(0, r.consumed), head);
  EXPECT_EQ(parser.RawHead(input, r), head);
}

TEST(HttpResponseParserTest, InterimAnswersToHeadAreSkippedToo) {
  const Response r = FeedOne(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", HeadRequest());
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.framing, BodyFraming::kNone);
}

TEST(HttpResponseParserTest, SwitchingProtocolsIsAnError) {
  EXPECT_EQ(FeedError("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: upgrade\r\n\r\n"),
            ParseError::kSwitchingProtocols);
}

// ---------------------------------------------------------------------------------------
// Versions and keep-alive (RFC 9112 9.3).

TEST(HttpResponseParserTest, KeepAliveRules) {
  const struct {
    std::string_view head;
    HttpVersion version;
    bool keep_alive;
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HttpVersion::kHttp11, true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", HttpVersion::kHttp11,
       false},
      {"HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
       HttpVersion::kHttp11, false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", HttpVersion::kHttp10, false},
      {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
       HttpVersion::kHttp10, true},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
       HttpVersion::kHttp10, false},
      {"HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n", HttpVersion::kHttp11, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.head);
    const Response r = FeedOne(c.head);
    EXPECT_EQ(r.head.version, c.version);
    EXPECT_EQ(r.head.keep_alive, c.keep_alive);
  }
}

TEST(HttpResponseParserTest, StatusLineVariants) {
  const struct {
    std::string_view line;
    int status;
  } cases[] = {
      {"HTTP/1.1 200 OK", 200},
      {"HTTP/1.1 200 ", 200},  // empty reason-phrase
      {"HTTP/1.1 200", 200},   // and without its SP, as some servers send it
      {"HTTP/1.1 404 Not \tFound \xC3\xA9", 404},
      {"HTTP/1.1 599 x", 599},
      {"HTTP/1.1 299 Whatever", 299},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const Response r = FeedOne(std::string(c.line) + "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(r.head.status, c.status);
  }
}

// ---------------------------------------------------------------------------------------
// Incremental feeding and EOF.

TEST(HttpResponseParserTest, EveryValidResponseParsesTheSameHoweverItIsSplit) {
  const struct {
    std::string_view name;
    std::string input;
    FeedOptions options;
  } cases[] = {
      {"content_length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", {}},
      {"chunked_trailers", kChunkedWithTrailers, {}},
      {"interim", kInterimThenFinal, {}},
      {"until_close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", ThenEof()},
      {"head", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", HeadRequest()},
      {"no_content", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n", {}},
      {"two_responses",
       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
       "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome whole = FeedWhole(c.input, c.options);
    EXPECT_EQ(whole.error, ParseError::kNone) << ParseErrorName(whole.error);
    EXPECT_FALSE(whole.responses.empty());
    for (const Response& r : whole.responses) EXPECT_TRUE(r.complete);
    ExpectSplitInvariant(c.input, c.options);
  }
}

TEST(HttpResponseParserTest, FinishCompletesOnlyWhatEndsAtClose) {
  const struct {
    std::string_view name;
    std::string_view input;
    ParseError error;
  } cases[] = {
      {"until_close", "HTTP/1.1 200 OK\r\n\r\npartial", ParseError::kNone},
      {"complete_fixed", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", ParseError::kNone},
      {"nothing_sent", "", ParseError::kTruncated},
      {"partial_head", "HTTP/1.1 200 OK\r\nContent-Le", ParseError::kTruncated},
      {"only_interim", "HTTP/1.1 100 Continue\r\n\r\n", ParseError::kTruncated},
      {"short_fixed", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", ParseError::kTruncated},
      {"chunked_mid_data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
       ParseError::kTruncated},
      {"chunked_no_last_chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
       ParseError::kTruncated},
      {"chunked_in_trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n",
       ParseError::kTruncated},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome out = FeedWhole(c.input, ThenEof());
    EXPECT_EQ(out.error, c.error) << ParseErrorName(out.error);
    if (c.error == ParseError::kNone) {
      ASSERT_EQ(out.responses.size(), 1u);
      EXPECT_TRUE(out.responses[0].complete);
    }
  }
}

TEST(HttpResponseParserTest, AtMessageStartUntilTheFirstByte) {
  HttpResponseParser parser;
  parser.Reset(false);
  EXPECT_TRUE(parser.AtMessageStart());
  EXPECT_EQ(parser.Parse("").event, ParseEvent::kNeedMore);
  EXPECT_TRUE(parser.AtMessageStart());
  EXPECT_EQ(parser.Parse("HTTP/1.1 2").event, ParseEvent::kNeedMore);
  EXPECT_FALSE(parser.AtMessageStart());
  parser.Reset(false);
  EXPECT_TRUE(parser.AtMessageStart());
}

TEST(HttpResponseParserTest, CompleteAndErrorAreStickyUntilReset) {
  HttpResponseParser parser;
  parser.Reset(false);
  ASSERT_EQ(parser.Parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").event,
            ParseEvent::kHeadComplete);
  EXPECT_EQ(parser.Parse("HTTP/1.1").event, ParseEvent::kMessageComplete);
  const ParseResult again = parser.Parse("HTTP/1.1");
  EXPECT_EQ(again.event, ParseEvent::kMessageComplete);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(parser.Finish().event, ParseEvent::kMessageComplete);

  parser.Reset(false);
  EXPECT_EQ(parser.Parse("SSH-2.0").error, ParseError::kBadStatusLine);
  EXPECT_EQ(parser.Parse("HTTP/1.1 200 OK\r\n\r\n").error, ParseError::kBadStatusLine);
  EXPECT_EQ(parser.Finish().error, ParseError::kBadStatusLine);
  parser.Reset(false);
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const ParseResult head = parser.Parse(ok);
  EXPECT_EQ(head.event, ParseEvent::kHeadComplete);
  EXPECT_EQ(head.consumed, ok.size());
}

TEST(HttpResponseParserTest, ResetForgetsTheHeadRequest) {
  HttpResponseParser parser;
  parser.Reset(true);
  parser.Reset(false);
  ASSERT_EQ(parser.Parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n").event,
            ParseEvent::kHeadComplete);
  EXPECT_EQ(parser.head().framing, BodyFraming::kContentLength);
}

// ---------------------------------------------------------------------------------------
// Rejections: each input fails with one exact error, whole or split anywhere.

struct RejectCase {
  std::string name;
  std::string input;
  ParseError error;
  ResponseParserLimits limits = {};
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class HttpResponseParserRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(HttpResponseParserRejectTest, FailsWithTheExpectedError) {
  const RejectCase& c = GetParam();
  const Outcome out = FeedWhole(c.input, HeadLimit(c.limits.max_header_bytes));
  EXPECT_EQ(out.error, c.error) << "got " << ParseErrorName(out.error) << ", want "
                                << ParseErrorName(c.error);
  ExpectSplitInvariant(c.input, HeadLimit(c.limits.max_header_bytes));
}

const std::string kOk = "HTTP/1.1 200 OK\r\n";
const std::string kChunkedHead = kOk + "Transfer-Encoding: chunked\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    Rejections, HttpResponseParserRejectTest,
    ::testing::Values(
        // Status line.
        RejectCase{"not_http", "SSH-2.0-OpenSSH_9.2\r\n", ParseError::kBadStatusLine},
        RejectCase{"lowercase_version", "http/1.1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"http2", "HTTP/2.0 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"http09_style", "HTTP/1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"two_digit_code", "HTTP/1.1 20 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"four_digit_code", "HTTP/1.1 2000 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"code_below_100", "HTTP/1.1 099 Low\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"code_above_599", "HTTP/1.1 600 High\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"letter_in_code", "HTTP/1.1 2x0 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"double_space", "HTTP/1.1  200 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"tab_after_code", "HTTP/1.1 200\tOK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"control_in_reason", "HTTP/1.1 200 O\x01K\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"bare_lf_in_status_line", "HTTP/1.1 200 OK\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"empty_line_first", "\r\nHTTP/1.1 200 OK\r\n\r\n", ParseError::kBadStatusLine},
        RejectCase{"garbage_after_interim", "HTTP/1.1 100 Continue\r\n\r\nHTTX",
                   ParseError::kBadStatusLine},
        RejectCase{"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
                   ParseError::kSwitchingProtocols},
        // Fields.
        RejectCase{"bare_lf_in_fields", kOk + "Server: x\n\r\n", ParseError::kBadHeader},
        RejectCase{"obs_fold", kOk + "Server: x\r\n  y\r\n\r\n", ParseError::kBadHeader},
        RejectCase{"space_before_colon", kOk + "Server : x\r\n\r\n", ParseError::kBadHeader},
        RejectCase{"no_colon", kOk + "Server\r\n\r\n", ParseError::kBadHeader},
        RejectCase{"nul_in_value", kOk + "Server: a\0b\r\n\r\n"s, ParseError::kBadHeader},
        RejectCase{"bad_field_in_interim",
                   "HTTP/1.1 103 Early Hints\r\nLink : x\r\n\r\n" + kOk + "\r\n",
                   ParseError::kBadHeader},
        // Framing.
        RejectCase{"content_length_and_chunked",
                   kOk + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
                   ParseError::kConflictingFraming},
        RejectCase{"coding_and_content_length",
                   kOk + "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
                   ParseError::kConflictingFraming},
        RejectCase{"duplicate_content_length",
                   kOk + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                   ParseError::kBadContentLength},
        RejectCase{"content_length_list", kOk + "Content-Length: 3, 3\r\n\r\nabc",
                   ParseError::kBadContentLength},
        RejectCase{"content_length_sign", kOk + "Content-Length: +3\r\n\r\nabc",
                   ParseError::kBadContentLength},
        RejectCase{"content_length_empty", kOk + "Content-Length:\r\n\r\n",
                   ParseError::kBadContentLength},
        RejectCase{"content_length_overflow", kOk + "Content-Length: 99999999999999999999\r\n\r\n",
                   ParseError::kBadContentLength},
        RejectCase{"chunked_twice", kOk + "Transfer-Encoding: chunked, chunked\r\n\r\n",
                   ParseError::kBadTransferEncoding},
        RejectCase{"chunked_twice_in_two_fields",
                   kOk + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                   ParseError::kBadTransferEncoding},
        RejectCase{"chunked_with_parameter", kOk + "Transfer-Encoding: chunked;x=1\r\n\r\n",
                   ParseError::kBadTransferEncoding},
        RejectCase{"empty_transfer_encoding", kOk + "Transfer-Encoding: ,\r\n\r\n",
                   ParseError::kBadTransferEncoding},
        RejectCase{"transfer_encoding_in_http10",
                   "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   ParseError::kBadTransferEncoding},
        // Limits: each head on its own, the trailer section too.
        RejectCase{"head_over_limit", kOk + "Server: " + std::string(100, 'x') + "\r\n\r\n",
                   ParseError::kHeaderTooLarge, Limit(64)},
        RejectCase{"interim_over_limit",
                   "HTTP/1.1 103 Early Hints\r\nLink: " + std::string(100, 'x') + "\r\n\r\n" + kOk +
                       "\r\n",
                   ParseError::kHeaderTooLarge, Limit(64)},
        RejectCase{"trailers_over_limit",
                   kChunkedHead + "0\r\nX-Trailer: " + std::string(100, 'x') + "\r\n\r\n",
                   ParseError::kHeaderTooLarge, Limit(64)},
        // Chunked body.
        RejectCase{"chunk_size_not_hex", kChunkedHead + "zz\r\n", ParseError::kBadChunk},
        RejectCase{"chunk_size_too_long", kChunkedHead + "10000000000000000\r\n",
                   ParseError::kBadChunk},
        RejectCase{"bad_chunk_extension", kChunkedHead + "1;=x\r\na\r\n", ParseError::kBadChunk},
        RejectCase{"no_crlf_after_chunk_data", kChunkedHead + "1\r\nabc\r\n",
                   ParseError::kBadChunk},
        RejectCase{"bad_trailer", kChunkedHead + "0\r\nX-T : 1\r\n\r\n", ParseError::kBadHeader}),
    [](const ::testing::TestParamInfo<RejectCase>& param_info) { return param_info.param.name; });

TEST(HttpResponseParserTest, HeadLimitIsInclusive) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(FeedOne(head, HeadLimit(head.size())).head.status, 200);
  EXPECT_EQ(FeedError(head, HeadLimit(head.size() - 1)), ParseError::kHeaderTooLarge);
}

TEST(HttpResponseParserTest, NonHttpFailsBeforeAnyLineEnds) {
  HttpResponseParser parser;
  parser.Reset(false);
  EXPECT_EQ(parser.Parse("HTT").event, ParseEvent::kNeedMore);
  EXPECT_EQ(parser.Parse("HTTX").error, ParseError::kBadStatusLine);
}

TEST(HttpResponseParserTest, ResponseErrorsAreBadGateways) {
  const struct {
    ParseError error;
    std::string_view name;
  } cases[] = {
      {ParseError::kBadStatusLine, "bad_status_line"},
      {ParseError::kSwitchingProtocols, "switching_protocols"},
      {ParseError::kTruncated, "truncated"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(StatusForParseError(c.error), 502) << c.name;
    EXPECT_EQ(ParseErrorName(c.error), c.name);
  }
}

// Arbitrary corruptions of valid responses must never crash, loop or over-consume, and must
// not depend on how the bytes arrive.
TEST(HttpResponseParserTest, MutatedInputsKeepInvariants) {
  std::mt19937 rng(4242);
  const char alphabet[] = {'\r', '\n', '\0', ' ', '\t', ':', ';', '"', '0', '1', 'f', ','};
  parse_test::ExpectMutationsAgree(
      rng,
      {kChunkedWithTrailers, kInterimThenFinal, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc"},
      std::string_view(alphabet, sizeof(alphabet)), 1500,
      [](int round, const std::vector<std::string_view>& parts) {
        return Feed(parts, round % 3 == 0 ? ThenEof() : FeedOptions{});
      },
      ExpectSameOutcome);
}

}  // namespace
}  // namespace proxynode
