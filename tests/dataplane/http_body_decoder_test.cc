#include "dataplane/http/http_body_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/dataplane/parse_test_support.h"

namespace proxynode {
namespace {

struct Decoded {
  std::string body;
  bool complete = false;
  ParseError error = ParseError::kNone;
  std::string leftover;  // bytes still unconsumed at the end
};

// Feeds `parts` into a decoder started with `framing`, as a parser feeds it (see
// parse_test::FeedParts); Finish() after the last part when `eof`. Once the body is complete
// or has failed the decoder is not called again, and later bytes stay unconsumed.
Decoded Decode(HttpBodyDecoder& decoder, const std::vector<std::string_view>& parts,
               bool eof = false) {
  Decoded out;
  const auto decode = [&](std::string_view input) {
    if (out.complete || out.error != ParseError::kNone) return ParseResult{};  // kNeedMore
    return decoder.Decode(input);
  };
  const auto on_result = [&](const ParseResult& r, std::string_view input) {
    if (r.event == ParseEvent::kBodyData) {
      EXPECT_EQ(r.body.data() + r.body.size(), input.data() + r.consumed);
      out.body.append(r.body);
    } else if (r.event == ParseEvent::kMessageComplete) {
      out.complete = true;
    } else if (r.event == ParseEvent::kError) {
      EXPECT_EQ(r.consumed, 0u);
      out.error = r.error;
    } else {
      EXPECT_EQ(r.event, ParseEvent::kNeedMore);
    }
    return true;
  };
  parse_test::FeedParts(parts, decode, on_result, &out.leftover);
  if (eof && !out.complete && out.error == ParseError::kNone) {
    const ParseResult r = decoder.Finish();
    out.complete = r.event == ParseEvent::kMessageComplete;
    out.error = r.error;
  }
  return out;
}

BodyLimits MaxBody(uint64_t max_body_bytes) {
  BodyLimits limits;
  limits.max_body_bytes = max_body_bytes;
  return limits;
}

BodyLimits MaxTrailer(size_t max_trailer_bytes) {
  BodyLimits limits;
  limits.max_trailer_bytes = max_trailer_bytes;
  return limits;
}

TEST(HttpBodyDecoderTest, NoBodyCompletesAtOnceAndConsumesNothing) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kNone);
  const ParseResult r = decoder.Decode("HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(decoder.Decode("x").event, ParseEvent::kMessageComplete);  // sticky
}

TEST(HttpBodyDecoderTest, EmptyBodiesEndAtFinishToo) {
  HttpBodyDecoder none;
  none.Start(BodyFraming::kNone);
  EXPECT_EQ(none.Finish().event, ParseEvent::kMessageComplete);
  HttpBodyDecoder zero;
  zero.Start(BodyFraming::kContentLength, 0);
  EXPECT_EQ(zero.Finish().event, ParseEvent::kMessageComplete);
  EXPECT_EQ(zero.Decode("x").event, ParseEvent::kMessageComplete);
}

TEST(HttpBodyDecoderTest, FixedLengthStopsAtItsEnd) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kContentLength, 5);
  const Decoded out = Decode(decoder, {"he", "llo", "NEXT"});
  EXPECT_TRUE(out.complete);
  EXPECT_EQ(out.body, "hello");
  EXPECT_EQ(out.leftover, "NEXT");
}

TEST(HttpBodyDecoderTest, FixedLengthCutShortIsTruncated) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kContentLength, 5);
  const Decoded out = Decode(decoder, {"hel"}, /*eof=*/true);
  EXPECT_EQ(out.error, ParseError::kTruncated);
  EXPECT_EQ(decoder.Finish().error, ParseError::kTruncated);  // sticky
  EXPECT_EQ(decoder.Decode("lo").error, ParseError::kTruncated);
}

TEST(HttpBodyDecoderTest, UntilCloseTakesEverythingAndEndsAtFinish) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kUntilClose);
  const Decoded open = Decode(decoder, {"any", "thing\r\n0\r\n\r\n"});
  EXPECT_FALSE(open.complete);
  EXPECT_EQ(open.body, "anything\r\n0\r\n\r\n");
  EXPECT_EQ(open.leftover, "");
  const ParseResult empty = decoder.Decode("");
  EXPECT_EQ(empty.event, ParseEvent::kNeedMore);
  EXPECT_EQ(empty.consumed, 0u);
  EXPECT_EQ(decoder.Finish().event, ParseEvent::kMessageComplete);
  EXPECT_EQ(decoder.Decode("late").event, ParseEvent::kMessageComplete);
}

TEST(HttpBodyDecoderTest, ChunkedFramingIsConsumedWithoutEvents) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kChunked);
  // Size line, data, CRLF and the next size line arrive together: the framing around the
  // data is consumed by the calls that deliver it, or by kNeedMore.
  ParseResult r = decoder.Decode("3;a=b\r\nabc\r\n2\r\n");
  ASSERT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.consumed, 10u);
  r = decoder.Decode("\r\n2\r\n");
  EXPECT_EQ(r.event, ParseEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 5u);
  r = decoder.Decode("xy\r\n0\r\nX-T: 1\r\n\r\nrest");
  ASSERT_EQ(r.event, ParseEvent::kBodyData);
  EXPECT_EQ(r.body, "xy");
  r = decoder.Decode("\r\n0\r\nX-T: 1\r\n\r\nrest");
  EXPECT_EQ(r.event, ParseEvent::kMessageComplete);
  EXPECT_EQ(r.consumed, 15u);
}

TEST(HttpBodyDecoderTest, ChunkedDecodesTheSameByteAtATime) {
  const std::string input =
      "4\r\nWiki\r\n5;x=\"y z\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  HttpBodyDecoder whole;
  whole.Start(BodyFraming::kChunked);
  HttpBodyDecoder bytewise;
  bytewise.Start(BodyFraming::kChunked);
  const Decoded a = Decode(whole, {input});
  const Decoded b = Decode(bytewise, parse_test::OneByteParts(input));
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.body, "Wikipedia in\r\n\r\nchunks.");
  EXPECT_EQ(b.body, a.body);
  EXPECT_TRUE(b.complete);
}

TEST(HttpBodyDecoderTest, ChunkedCutShortIsTruncatedAtEveryPoint) {
  const std::string input = "2\r\nab\r\n0\r\nX: 1\r\n\r\n";
  for (size_t cut = 0; cut < input.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    HttpBodyDecoder decoder;
    decoder.Start(BodyFraming::kChunked);
    EXPECT_EQ(Decode(decoder, {input.substr(0, cut)}, /*eof=*/true).error, ParseError::kTruncated);
  }
}

TEST(HttpBodyDecoderTest, ChunkSizesAreBoundedBeforeTheirData) {
  HttpBodyDecoder decoder(MaxBody(5));
  decoder.Start(BodyFraming::kChunked);
  const Decoded out = Decode(decoder, {"3\r\nabc\r\n3\r\n"});
  EXPECT_EQ(out.body, "abc");
  EXPECT_EQ(out.error, ParseError::kBodyTooLarge);

  decoder.Start(BodyFraming::kChunked);  // a new body starts from zero
  EXPECT_TRUE(Decode(decoder, {"5\r\nabcde\r\n0\r\n\r\n"}).complete);
}

TEST(HttpBodyDecoderTest, TrailerBudgetIncludesTheEmptyLine) {
  const std::string trailers = "0\r\nX: 12\r\n\r\n";  // 9 bytes of trailer section
  HttpBodyDecoder fits(MaxTrailer(9));
  fits.Start(BodyFraming::kChunked);
  EXPECT_TRUE(Decode(fits, {trailers}).complete);
  HttpBodyDecoder over(MaxTrailer(8));
  over.Start(BodyFraming::kChunked);
  EXPECT_EQ(Decode(over, {trailers}).error, ParseError::kHeaderTooLarge);
}

TEST(HttpBodyDecoderTest, LimitChangesApplyToLaterChunks) {
  HttpBodyDecoder decoder(MaxBody(100));
  decoder.Start(BodyFraming::kChunked);
  EXPECT_EQ(Decode(decoder, {"3\r\nabc\r\n"}).body, "abc");
  decoder.set_limits(MaxBody(2));  // already below what was received
  EXPECT_EQ(Decode(decoder, {"1\r\n"}).error, ParseError::kBodyTooLarge);
}

TEST(HttpBodyDecoderTest, StartClearsAnError) {
  HttpBodyDecoder decoder;
  decoder.Start(BodyFraming::kChunked);
  EXPECT_EQ(Decode(decoder, {"x\r\n"}).error, ParseError::kBadChunk);
  decoder.Start(BodyFraming::kContentLength, 1);
  const Decoded out = Decode(decoder, {"z"});
  EXPECT_EQ(out.error, ParseError::kNone);
  EXPECT_TRUE(out.complete);
  EXPECT_EQ(out.body, "z");
}

}  // namespace
}  // namespace proxynode
