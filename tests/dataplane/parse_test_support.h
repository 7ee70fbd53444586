#pragma once

// Test helpers the HTTP parser tests share (http_parser_test, http_response_parser_test,
// http_body_decoder_test): feeding bytes in pieces as a connection does, cutting an input into
// pieces, and checking that however the bytes arrive the outcome is the same. Test-only: the
// checks report through GoogleTest.

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http/http_syntax.h"

namespace proxynode::parse_test {

// The input in one piece per byte, where bugs in incremental state show first.
inline std::vector<std::string_view> OneByteParts(std::string_view input) {
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < input.size(); ++i) parts.push_back(input.substr(i, 1));
  return parts;
}

// The input in two pieces, cut before input[at].
inline std::vector<std::string_view> SplitAt(std::string_view input, size_t at) {
  return {input.substr(0, at), input.substr(at)};
}

// Feeds `parts` as a connection feeds a parser, each part one read: it is appended to the bytes
// not yet consumed, and `parse(input)` is called with all of them until it returns kNeedMore,
// the bytes it consumed being dropped after each call. After each call, `on_result(r, input)`
// sees the result (before the bytes are dropped) and returns false to stop feeding at once.
// Every input is an exact heap copy, so a read past the unconsumed bytes lands in an
// AddressSanitizer redzone. A result that consumes more than its input, or a parser that
// never asks for more, fails the test and stops feeding. Returns whether every part was fed;
// *leftover gets the bytes left unconsumed either way.
template <typename Parse, typename OnResult>
bool FeedParts(const std::vector<std::string_view>& parts, Parse parse, OnResult on_result,
               std::string* leftover) {
  std::string& buffer = *leftover;
  buffer.clear();
  for (std::string_view part : parts) {
    buffer.append(part);
    for (int guard = 0;; ++guard) {
      if (guard > 1000000) {
        ADD_FAILURE() << "parser makes no progress";
        return false;
      }
      const std::vector<char> bytes(buffer.begin(), buffer.end());
      const std::string_view input(bytes.data(), bytes.size());
      const ParseResult r = parse(input);
      if (r.consumed > input.size()) {
        ADD_FAILURE() << "consumed " << r.consumed << " of " << input.size() << " bytes";
        return false;
      }
      if (!on_result(r, input)) return false;
      buffer.erase(0, r.consumed);
      if (r.event == ParseEvent::kNeedMore) break;
    }
  }
  return true;
}

// A kError result of parser.Parse(input) consumes nothing, and the error is sticky: the
// same input gets it again, consuming nothing.
template <typename Parser>
void ExpectStickyError(Parser& parser, const ParseResult& r, std::string_view input) {
  EXPECT_EQ(r.consumed, 0u);
  const ParseResult again = parser.Parse(input);
  EXPECT_EQ(again.event, ParseEvent::kError);
  EXPECT_EQ(again.error, r.error);
  EXPECT_EQ(again.consumed, 0u);
}

// Records `r`, a result of parser.Parse(input), in the messages of a feed (each with `body`
// and `complete`), checking the Parse() contract both parsers share. kHeadComplete is left to
// the caller, who adds the message. kBodyData, a non-empty view of the last bytes consumed,
// goes to the body of the last message. kMessageComplete completes it and repeats, consuming
// nothing, until reset() (called here) leaves the parser at a message start. kError is
// sticky (see ExpectStickyError) and goes to *error. Returns false to stop feeding: at an
// error, or at body data or a message end without a head.
template <typename Parser, typename Message, typename Reset>
bool RecordResult(Parser& parser, const ParseResult& r, std::string_view input,
                  std::vector<Message>* messages, ParseError* error, Reset reset) {
  switch (r.event) {
    case ParseEvent::kNeedMore:
    case ParseEvent::kHeadComplete:
      break;
    case ParseEvent::kBodyData:
      if (messages->empty() || r.body.empty()) {
        ADD_FAILURE() << "body data without a head, or empty";
        return false;
      }
      // The body is a view of the last bytes consumed by this call.
      EXPECT_EQ(r.body.data() + r.body.size(), input.data() + r.consumed);
      EXPECT_GE(r.body.data(), input.data());
      messages->back().body.append(r.body);
      break;
    case ParseEvent::kMessageComplete:
      if (messages->empty()) {
        ADD_FAILURE() << "message complete without a head";
        return false;
      }
      messages->back().complete = true;
      EXPECT_EQ(parser.Parse(input.substr(r.consumed)).event, ParseEvent::kMessageComplete);
      reset();
      EXPECT_TRUE(parser.AtMessageStart());
      break;
    case ParseEvent::kError:
      ExpectStickyError(parser, r, input);
      *error = r.error;
      return false;
  }
  return true;
}

// Feeds `input` whole, split in two at every position, and one byte at a time:
// `feed(parts)` returns an outcome, and `expect_same(whole, other)` compares two. Stops at the
// first split that differs.
template <typename Feed, typename ExpectSame>
void ExpectSameAtEverySplit(std::string_view input, Feed feed, ExpectSame expect_same) {
  const auto whole = feed(std::vector<std::string_view>{input});
  for (size_t i = 0; i <= input.size(); ++i) {
    SCOPED_TRACE("split at " + std::to_string(i));
    expect_same(whole, feed(SplitAt(input, i)));
    if (::testing::Test::HasFailure()) return;  // one broken split is enough to report
  }
  SCOPED_TRACE("byte at a time");
  expect_same(whole, feed(OneByteParts(input)));
}

// Corrupts valid inputs at random and checks that how the bytes arrive changes nothing: in
// each of `rounds` rounds a copy of the next seed gets 1 to 3 bytes replaced by bytes of
// `alphabet` (chosen by `rng`), then is fed whole and split in two at a random position, and
// every tenth round also one byte at a time. `feed(round, parts)` returns an outcome, and
// `expect_same(whole, other)` compares two. Stops at the first failure, naming the input.
template <typename Feed, typename ExpectSame>
void ExpectMutationsAgree(std::mt19937& rng, const std::vector<std::string>& seeds,
                          std::string_view alphabet, int rounds, Feed feed,
                          ExpectSame expect_same) {
  for (int round = 0; round < rounds; ++round) {
    std::string input = seeds[static_cast<size_t>(round) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const char replacement = alphabet[rng() % alphabet.size()];  // drawn before the position
      input[rng() % input.size()] = replacement;
    }
    const size_t split = rng() % (input.size() + 1);
    const auto whole = feed(round, std::vector<std::string_view>{input});
    expect_same(whole, feed(round, SplitAt(input, split)));
    if (round % 10 == 0) expect_same(whole, feed(round, OneByteParts(input)));
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "input: " << ::testing::PrintToString(input) << " split " << split;
      return;
    }
  }
}

}  // namespace proxynode::parse_test
