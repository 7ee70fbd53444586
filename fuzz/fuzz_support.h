#pragma once

// What the HTTP parser fuzzers share (http_parser_fuzzer.cc for requests,
// http_response_parser_fuzzer.cc for responses): invariant checks that print what broke and
// abort, the generator that derives cuts and limits from the input, the oracle's own HTTP
// helpers (written apart from the parsers' code on purpose, so that a bug there is not shared),
// the checks every Parse() result must pass, and the feeding of one input whole, split and
// byte by byte.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http/http_syntax.h"

namespace proxynode::fuzz {

[[noreturn]] inline void Violation(const char* file, int line, const char* condition,
                                   const std::string& detail) {
  std::fprintf(stderr, "invariant violated at %s:%d: %s\n  %s\n", file, line, condition,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace proxynode::fuzz

// Aborts with the condition and `detail` if `condition` is false; libFuzzer reports the abort
// as a crash and writes the input out. `detail` is built only when the check fails.
#define FUZZ_CHECK(condition, detail)                                         \
  do {                                                                        \
    if (!(condition)) {                                                       \
      ::proxynode::fuzz::Violation(__FILE__, __LINE__, #condition, (detail)); \
    }                                                                         \
  } while (false)

namespace proxynode::fuzz {

// Byte-at-a-time feeding copies the buffer once per byte: quadratic, so only short inputs.
inline constexpr size_t kBytewiseMaxInput = 4096;
// The split feed reads an input in at most kMaxCuts + 1 pieces.
inline constexpr uint64_t kMaxCuts = 8;

inline std::string Num(uint64_t value) { return std::to_string(value); }
inline std::string Flag(bool value) { return value ? "1" : "0"; }

// SplitMix64, seeded with FNV-1a of the input: the same input always gets the same cuts
// and limits, so every finding reproduces.
class Rng {
 public:
  explicit Rng(std::string_view input) {
    for (char c : input) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= 1099511628211ULL;
    }
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_ = 14695981039346656037ULL;
};

// Read boundaries for the split feed of `size` bytes, strictly increasing, none at either end.
inline std::vector<size_t> MakeCuts(size_t size, Rng& rng) {
  std::vector<size_t> cuts;
  if (size > 1) {
    const uint64_t count = 1 + rng.Below(kMaxCuts);
    for (uint64_t i = 0; i < count; ++i) cuts.push_back(1 + rng.Below(size - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  }
  return cuts;
}

// ---------------------------------------------------------------------------------------
// The oracle's HTTP helpers.

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
           };
           return lower(x) == lower(y);
         });
}

inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The bytes of an accepted head block, whatever its start line: it ends with an empty line,
// every LF follows a CR and every CR precedes an LF, and HTAB is the only control byte.
inline void CheckHeadBytes(std::string_view block) {
  FUZZ_CHECK(block.size() >= 4 && block.substr(block.size() - 4) == "\r\n\r\n",
             "head of " + Num(block.size()) + " bytes does not end with an empty line");
  for (size_t i = 0; i < block.size(); ++i) {
    const auto c = static_cast<unsigned char>(block[i]);
    FUZZ_CHECK(c != '\n' || (i > 0 && block[i - 1] == '\r'), "bare LF at " + Num(i));
    FUZZ_CHECK(c != '\r' || (i + 1 < block.size() && block[i + 1] == '\n'), "bare CR at " + Num(i));
    FUZZ_CHECK(c == '\t' || c == '\r' || c == '\n' || (c >= 0x20 && c != 0x7F),
               "control byte " + Num(c) + " at " + Num(i));
  }
}

// Calls fn(name, value) for each field line of an accepted head block (CheckHeadBytes()
// passed), value trimmed of OWS, after checking what the parser must have enforced: no empty
// line or obs-fold among the fields, a name before the colon and no whitespace in it. Empty
// lines before the start line, which a request may have, and the start line are skipped.
template <typename Fn>
void ForEachField(std::string_view block, Fn fn) {
  std::string_view rest = block.substr(0, block.size() - 2);  // drop the final empty line
  while (rest.substr(0, 2) == "\r\n") rest.remove_prefix(2);
  rest.remove_prefix(rest.find("\r\n") + 2);
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    FUZZ_CHECK(!line.empty(), "empty line inside the head");
    FUZZ_CHECK(line.front() != ' ' && line.front() != '\t', "obs-fold accepted");
    const size_t colon = line.find(':');
    FUZZ_CHECK(colon != std::string_view::npos && colon > 0, "field line without a name");
    const std::string_view name = line.substr(0, colon);
    FUZZ_CHECK(name.find_first_of(" \t") == std::string_view::npos, "whitespace in a name");
    fn(name, TrimOws(line.substr(colon + 1)));
  }
}

// The value of an accepted Content-Length field, which must be digits only.
inline uint64_t ContentLengthValue(std::string_view value) {
  uint64_t length = 0;
  for (char c : value) {
    FUZZ_CHECK(c >= '0' && c <= '9', "Content-Length with a non-digit accepted");
    length = length * 10 + static_cast<uint64_t>(c - '0');
  }
  return length;
}

// ---------------------------------------------------------------------------------------
// Parse() results.

// An exact heap copy of some bytes: a parser reading one byte past them lands in an
// AddressSanitizer redzone.
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}
  std::string_view view() const { return std::string_view(bytes_.data(), bytes_.size()); }

 private:
  std::vector<char> bytes_;
};

// What every result of Parse(input) must satisfy.
inline void CheckResult(const ParseResult& r, std::string_view input) {
  FUZZ_CHECK(r.consumed <= input.size(),
             "consumed " + Num(r.consumed) + " of " + Num(input.size()) + " bytes");
  FUZZ_CHECK((r.event == ParseEvent::kError) == (r.error != ParseError::kNone),
             "error set on a non-error event, or missing on kError");
  FUZZ_CHECK(r.event != ParseEvent::kError || r.consumed == 0,
             "kError consumed " + Num(r.consumed) + " bytes");
}

// A kBodyData result's body is a view of the last bytes the call consumed. The addresses are
// compared as integers: ordering pointers into different objects is unspecified.
inline void CheckBodyView(const ParseResult& r, std::string_view input) {
  const auto begin = reinterpret_cast<uintptr_t>(r.body.data());
  const auto input_begin = reinterpret_cast<uintptr_t>(input.data());
  FUZZ_CHECK(
      !r.body.empty() && begin >= input_begin && begin + r.body.size() == input_begin + r.consumed,
      "body view of " + Num(r.body.size()) + " bytes not at the end of the " + Num(r.consumed) +
          " consumed");
}

// kNeedMore, kMessageComplete and kError are stable: given the bytes `r` left unconsumed
// again, before anything else happens to it, the parser repeats its event and error and
// consumes nothing.
template <typename Parser>
void CheckRepeats(Parser& parser, std::string_view input, const ParseResult& r) {
  const ExactCopy rest(input.substr(r.consumed));
  const ParseResult again = parser.Parse(rest.view());
  FUZZ_CHECK(again.event == r.event && again.error == r.error && again.consumed == 0,
             "event " + Num(static_cast<uint64_t>(r.event)) + " then, with the bytes left, event " +
                 Num(static_cast<uint64_t>(again.event)) + " consuming " + Num(again.consumed));
}

// ---------------------------------------------------------------------------------------
// Feeding.

// What the outcomes of two feeds of one stream must share: the same error, the same messages
// (heads equal by same_head(x, y), the same bodies, completed alike), and where the stream
// ends without an error the same bytes consumed and the same state. After kError the consumed
// count is not compared: kError reports 0 even when chunk framing (or skipped interim
// responses) earlier in that same call were processed, so it depends on where the reads
// ended; the connection closes anyway.
template <typename Outcome, typename SameHead>
bool SameMessages(const Outcome& a, const Outcome& b, SameHead same_head) {
  if (a.error != b.error || a.messages.size() != b.messages.size()) return false;
  if (a.error == ParseError::kNone && (a.consumed != b.consumed || a.in_body != b.in_body)) {
    return false;
  }
  for (size_t i = 0; i < a.messages.size(); ++i) {
    const auto& x = a.messages[i];
    const auto& y = b.messages[i];
    if (!same_head(x.head, y.head) || x.body != y.body || x.complete != y.complete) return false;
  }
  return true;
}

// Feeds `input` whole, in the reads plan.cuts marks, and (if short) one byte per read, each to
// a feeder from make_feeder() (Offer() is one read, End() the end of the stream); all three
// outcome() must agree. Needs, found by argument-dependent lookup: SameOutcome(a, b) for two
// outcomes, Describe() for an outcome and for the plan.
template <typename Plan, typename MakeFeeder>
void CheckFeeds(std::string_view input, const Plan& plan, MakeFeeder make_feeder) {
  auto whole = make_feeder();
  whole.Offer(input);
  whole.End();

  auto split = make_feeder();
  size_t begin = 0;
  for (size_t cut : plan.cuts) {
    split.Offer(input.substr(begin, cut - begin));
    begin = cut;
  }
  split.Offer(input.substr(begin));
  split.End();
  FUZZ_CHECK(SameOutcome(whole.outcome(), split.outcome()),
             "whole and split differ; " + Describe(plan) + "\n  whole: " +
                 Describe(whole.outcome()) + "\n  split: " + Describe(split.outcome()));

  if (input.size() < kBytewiseMaxInput) {
    auto bytes = make_feeder();
    for (size_t i = 0; i < input.size(); ++i) bytes.Offer(input.substr(i, 1));
    bytes.End();
    FUZZ_CHECK(SameOutcome(whole.outcome(), bytes.outcome()),
               "whole and byte-at-a-time differ; " + Describe(plan) + "\n  whole: " +
                   Describe(whole.outcome()) + "\n  bytes: " + Describe(bytes.outcome()));
  }
}

}  // namespace proxynode::fuzz
