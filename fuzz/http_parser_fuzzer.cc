// libFuzzer target for HttpRequestParser (dataplane/http_parser.h).
//
// Each input is the byte stream of one client connection. It is parsed three ways and the
// results must agree:
//   whole:  every byte arrives in one read;
//   split:  the same bytes arrive in 2 to 9 reads, cut where a hash of the input says;
//   bytes:  one byte per read (inputs under kBytewiseMaxInput), where bugs in the
//           incremental state show first.
// Every feed drives the parser as Connection::ProcessInput does: append the read to the
// buffer of unconsumed bytes, call Parse() with all of them until kNeedMore or kError, drop
// `consumed` bytes after each call, Reset() after kMessageComplete, and call Parse() on an
// empty buffer only inside a body. Unlike the connection, parsing goes on after a request
// that closes the connection, so pipelined requests behind it are covered too.
//
// All of that runs twice: with the default limits, and with one to three limits made small
// (which ones and how small also come from the hash), so the 413, 431 and field-count paths
// run on ordinary inputs while every seed still means what it says under the defaults.
// Seeds and reproducers stay plain HTTP, with no control bytes.
//
// Every Parse() call gets a fresh heap copy of exactly the unconsumed bytes, so a read one
// byte past them lands in an AddressSanitizer redzone. A broken invariant prints what broke
// and aborts; libFuzzer reports it as a crash and writes the input out.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http_parser.h"

namespace proxynode {
namespace {

// Byte-at-a-time feeding copies the buffer once per byte: quadratic, so only short inputs.
constexpr size_t kBytewiseMaxInput = 4096;
constexpr uint64_t kMaxCuts = 8;

[[noreturn]] void Violation(const char* file, int line, const char* condition,
                            const std::string& detail) {
  std::fprintf(stderr, "http_parser_fuzzer: invariant violated at %s:%d: %s\n  %s\n", file, line,
               condition, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// `detail` is built only when the check fails.
#define FUZZ_CHECK(condition, detail)                      \
  do {                                                     \
    if (!(condition)) {                                    \
      Violation(__FILE__, __LINE__, #condition, (detail)); \
    }                                                      \
  } while (false)

std::string Num(uint64_t value) { return std::to_string(value); }
std::string Flag(bool value) { return value ? "1" : "0"; }

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

// How one input is fed under one set of limits.
struct Plan {
  ParserLimits limits;
  std::vector<size_t> cuts;  // read boundaries for the split feed, strictly increasing
};

std::vector<size_t> MakeCuts(size_t size, Rng& rng) {
  std::vector<size_t> cuts;
  if (size > 1) {
    const uint64_t count = 1 + rng.Below(kMaxCuts);
    for (uint64_t i = 0; i < count; ++i) cuts.push_back(1 + rng.Below(size - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  }
  return cuts;
}

// Small limits: one to three of them, chosen by the hash. Half the time max_header_bytes
// sits on the first head's size (one less, equal, one more), where off-by-ones live.
ParserLimits SmallLimits(std::string_view input, Rng& rng) {
  ParserLimits limits;
  const uint64_t which = 1 + rng.Below(7);
  if ((which & 1) != 0) {
    const size_t head_end = input.find("\r\n\r\n");
    if (head_end != std::string_view::npos && rng.Below(2) == 0) {
      limits.max_header_bytes = head_end + 3 + rng.Below(3);
    } else {
      limits.max_header_bytes = 1 + rng.Below(512);
    }
  }
  if ((which & 2) != 0) limits.max_body_bytes = rng.Below(128);
  if ((which & 4) != 0) limits.max_header_count = rng.Below(8);
  return limits;
}

std::string Describe(const Plan& plan) {
  std::string s = "limits{header_bytes=" + Num(plan.limits.max_header_bytes) +
                  " body_bytes=" + Num(plan.limits.max_body_bytes) +
                  " header_count=" + Num(plan.limits.max_header_count) + "} cuts{";
  for (size_t cut : plan.cuts) s += " " + Num(cut);
  return s + " }";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
           };
           return lower(x) == lower(y);
         });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Checks an accepted head against the raw bytes, independently of the parser's code: the
// properties whose failure would let a request be smuggled past another HTTP implementation.
void CheckAcceptedHead(const RequestHead& head, std::string_view block,
                       const ParserLimits& limits) {
  FUZZ_CHECK(block.size() >= 4 && block.substr(block.size() - 4) == "\r\n\r\n",
             "head of " + Num(block.size()) + " bytes does not end with an empty line");
  for (size_t i = 0; i < block.size(); ++i) {
    const auto c = static_cast<unsigned char>(block[i]);
    FUZZ_CHECK(c != '\n' || (i > 0 && block[i - 1] == '\r'), "bare LF at " + Num(i));
    FUZZ_CHECK(c != '\r' || (i + 1 < block.size() && block[i + 1] == '\n'), "bare CR at " + Num(i));
    FUZZ_CHECK(c == '\t' || c == '\r' || c == '\n' || (c >= 0x20 && c != 0x7F),
               "control byte " + Num(c) + " at " + Num(i));
  }
  FUZZ_CHECK(!head.target.empty(), "empty request-target");
  FUZZ_CHECK(std::all_of(head.target.begin(), head.target.end(),
                         [](char c) { return c > 0x20 && c < 0x7F; }),
             "request-target with a byte outside VCHAR");
  FUZZ_CHECK(head.header_bytes <= limits.max_header_bytes,
             "head of " + Num(head.header_bytes) + " bytes over max_header_bytes");
  FUZZ_CHECK(head.content_length <= limits.max_body_bytes, "Content-Length over max_body_bytes");
  FUZZ_CHECK(!head.chunked || head.content_length == 0, "chunked with a content_length");

  // Skip leading empty lines and the request line, then count the framing fields.
  std::string_view rest = block.substr(0, block.size() - 2);  // drop the final empty line
  while (rest.substr(0, 2) == "\r\n") rest.remove_prefix(2);
  rest.remove_prefix(rest.find("\r\n") + 2);
  size_t fields = 0;
  size_t hosts = 0;
  size_t content_lengths = 0;
  size_t transfer_encodings = 0;
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    ++fields;
    FUZZ_CHECK(!line.empty(), "empty line inside the head");
    FUZZ_CHECK(line.front() != ' ' && line.front() != '\t', "obs-fold accepted");
    const size_t colon = line.find(':');
    FUZZ_CHECK(colon != std::string_view::npos && colon > 0, "field line without a name");
    const std::string_view name = line.substr(0, colon);
    FUZZ_CHECK(name.find_first_of(" \t") == std::string_view::npos, "whitespace in a name");
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "host")) {
      ++hosts;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++transfer_encodings;
    } else if (EqualsIgnoreCase(name, "content-length")) {
      ++content_lengths;
      uint64_t declared = 0;
      for (char c : value) {
        FUZZ_CHECK(c >= '0' && c <= '9', "Content-Length with a non-digit accepted");
        declared = declared * 10 + static_cast<uint64_t>(c - '0');
      }
      FUZZ_CHECK(declared == head.content_length, "content_length " + Num(head.content_length) +
                                                      " but the field says " + std::string(value));
    }
  }
  FUZZ_CHECK(fields <= limits.max_header_count, Num(fields) + " fields over max_header_count");
  FUZZ_CHECK(content_lengths <= 1, "duplicate Content-Length accepted");
  FUZZ_CHECK(content_lengths == 0 || transfer_encodings == 0,
             "Content-Length with Transfer-Encoding");
  FUZZ_CHECK(head.chunked == (transfer_encodings > 0), "chunked does not match the fields");
  if (head.version == HttpVersion::kHttp11) {
    FUZZ_CHECK(hosts == 1, "HTTP/1.1 with " + Num(hosts) + " Host fields");
  } else {
    FUZZ_CHECK(hosts <= 1, "HTTP/1.0 with several Host fields");
    FUZZ_CHECK(transfer_encodings == 0 && !head.expect_continue,
               "HTTP/1.0 with Transfer-Encoding or Expect");
  }
}

void CheckError(ParseError error) {
  const int status = StatusForParseError(error);
  FUZZ_CHECK(error != ParseError::kNone, "kError without an error");
  FUZZ_CHECK(status == 400 || status == 413 || status == 431 || status == 501 || status == 505,
             "unexpected status " + Num(static_cast<uint64_t>(status)));
  FUZZ_CHECK(ParseErrorName(error) != "unknown", "unnamed error");
}

struct Message {
  RequestHead head;
  std::string body;
  bool complete = false;
};

struct Outcome {
  std::vector<Message> messages;  // every message whose head completed, in order
  ParseError error = ParseError::kNone;
  uint64_t consumed = 0;  // bytes dropped from the stream, over all calls
  bool in_body = false;   // at the end: between kHeadComplete and kMessageComplete
};

// One connection's parser and input buffer. Offer() is one read() returning `piece`.
class Feeder {
 public:
  explicit Feeder(const ParserLimits& limits) : limits_(limits), parser_(limits) {}

  void Offer(std::string_view piece) {
    if (out_.error != ParseError::kNone) {
      return;  // the connection stops reading at a parse error
    }
    offered_ += piece.size();
    pending_.append(piece);
    while (out_.in_body || !pending_.empty()) {
      if (!out_.in_body && parser_.AtMessageStart()) {
        parser_.set_limits(limits_);  // as the connection does when a message starts
      }
      const std::vector<char> bytes(pending_.begin(), pending_.end());
      const std::string_view input(bytes.data(), bytes.size());
      const ParseResult r = parser_.Parse(input);
      FUZZ_CHECK(r.consumed <= input.size(),
                 "consumed " + Num(r.consumed) + " of " + Num(input.size()) + " bytes");
      FUZZ_CHECK((r.event == ParseEvent::kError) == (r.error != ParseError::kNone),
                 "error set on a non-error event, or missing on kError");
      OnResult(r, input);
      out_.consumed += r.consumed;
      message_consumed_ += r.consumed;
      FUZZ_CHECK(
          out_.consumed <= offered_,
          "consumed " + Num(out_.consumed) + " bytes in total, only " + Num(offered_) + " offered");
      pending_.erase(0, r.consumed);
      if (r.event == ParseEvent::kNeedMore) {
        CheckNeedMoreIsStable();
        return;
      }
      if (r.event == ParseEvent::kError) {
        return;
      }
    }
  }

  const Outcome& outcome() const { return out_; }

 private:
  void OnResult(const ParseResult& r, std::string_view input) {
    switch (r.event) {
      case ParseEvent::kNeedMore:
        FUZZ_CHECK(out_.in_body || r.consumed == 0, "a partial head was consumed");
        return;
      case ParseEvent::kHeadComplete: {
        const RequestHead& head = parser_.head();
        FUZZ_CHECK(!out_.in_body, "kHeadComplete inside a body");
        FUZZ_CHECK(r.consumed > 0 && r.consumed == head.header_bytes,
                   "kHeadComplete consumed " + Num(r.consumed) + ", header_bytes " +
                       Num(head.header_bytes));
        CheckAcceptedHead(head, input.substr(0, r.consumed), limits_);
        out_.messages.push_back(Message{head, {}, false});
        out_.in_body = true;
        message_consumed_ = 0;
        return;
      }
      case ParseEvent::kBodyData: {
        FUZZ_CHECK(out_.in_body, "kBodyData outside a body");
        // The body is a view of the last bytes this call consumed. Compare addresses as
        // integers: ordering pointers into different objects is unspecified.
        const auto begin = reinterpret_cast<uintptr_t>(r.body.data());
        const auto input_begin = reinterpret_cast<uintptr_t>(input.data());
        FUZZ_CHECK(!r.body.empty() && begin >= input_begin &&
                       begin + r.body.size() == input_begin + r.consumed,
                   "body view of " + Num(r.body.size()) + " bytes not at the end of the " +
                       Num(r.consumed) + " consumed");
        Message& m = out_.messages.back();
        m.body.append(r.body);
        if (m.head.chunked) {
          FUZZ_CHECK(m.body.size() <= limits_.max_body_bytes, "chunked body over max_body_bytes");
        } else {
          FUZZ_CHECK(m.body.size() <= m.head.content_length, "body longer than Content-Length");
        }
        return;
      }
      case ParseEvent::kMessageComplete: {
        FUZZ_CHECK(out_.in_body, "kMessageComplete without a head");
        Message& m = out_.messages.back();
        const uint64_t consumed = message_consumed_ + r.consumed;
        if (m.head.chunked) {
          // The last chunk "0\r\n" and the empty line after the trailers, at least.
          FUZZ_CHECK(consumed >= m.head.header_bytes + m.body.size() + 5,
                     "chunked message of " + Num(consumed) + " bytes is too short");
          FUZZ_CHECK(r.consumed >= 2 && input.substr(r.consumed - 2, 2) == "\r\n",
                     "chunked message does not end with CRLF");
        } else {
          FUZZ_CHECK(m.body.size() == m.head.content_length, "body of " + Num(m.body.size()) +
                                                                 " bytes, Content-Length " +
                                                                 Num(m.head.content_length));
          FUZZ_CHECK(consumed == m.head.header_bytes + m.head.content_length,
                     "fixed-length message consumed " + Num(consumed) + " bytes");
        }
        m.complete = true;
        // kMessageComplete repeats, consuming nothing, until Reset().
        const std::string_view rest = input.substr(r.consumed);
        const std::vector<char> after(rest.begin(), rest.end());
        const ParseResult again = parser_.Parse(std::string_view(after.data(), after.size()));
        FUZZ_CHECK(again.event == ParseEvent::kMessageComplete && again.consumed == 0,
                   "kMessageComplete is not sticky");
        parser_.Reset();
        FUZZ_CHECK(parser_.AtMessageStart(), "not at message start after Reset()");
        out_.in_body = false;
        return;
      }
      case ParseEvent::kError: {
        CheckError(r.error);
        FUZZ_CHECK(r.consumed == 0, "kError consumed " + Num(r.consumed) + " bytes");
        // The error is sticky until Reset().
        const ParseResult again = parser_.Parse(input);
        FUZZ_CHECK(
            again.event == ParseEvent::kError && again.error == r.error && again.consumed == 0,
            "kError is not sticky");
        out_.error = r.error;
        return;
      }
    }
    FUZZ_CHECK(false, "unknown event " + Num(static_cast<uint64_t>(r.event)));
  }

  // kNeedMore means nothing more can happen with these bytes: asking again changes nothing.
  void CheckNeedMoreIsStable() {
    if (!out_.in_body && pending_.empty()) {
      return;  // the connection never calls Parse() here
    }
    const std::vector<char> bytes(pending_.begin(), pending_.end());
    const ParseResult again = parser_.Parse(std::string_view(bytes.data(), bytes.size()));
    FUZZ_CHECK(again.event == ParseEvent::kNeedMore && again.consumed == 0,
               "kNeedMore then, with the same bytes, event " +
                   Num(static_cast<uint64_t>(again.event)) + " consuming " + Num(again.consumed));
  }

  const ParserLimits limits_;
  HttpRequestParser parser_;
  std::string pending_;            // bytes read and not yet consumed
  uint64_t offered_ = 0;           // bytes read so far
  uint64_t message_consumed_ = 0;  // bytes of the current message consumed, head included
  Outcome out_;
};

std::string Describe(const Outcome& o) {
  std::string s = "error=" + std::string(ParseErrorName(o.error)) + " consumed=" + Num(o.consumed) +
                  " in_body=" + Flag(o.in_body) + " messages=" + Num(o.messages.size());
  for (const Message& m : o.messages) {
    s += "\n    [method=" + Num(static_cast<uint64_t>(m.head.method)) +
         " version=" + Num(static_cast<uint64_t>(m.head.version)) + " target=" + m.head.target +
         " keep_alive=" + Flag(m.head.keep_alive) + " chunked=" + Flag(m.head.chunked) +
         " expect=" + Flag(m.head.expect_continue) +
         " content_length=" + Num(m.head.content_length) +
         " header_bytes=" + Num(m.head.header_bytes) + " body=" + Num(m.body.size()) +
         " bytes complete=" + Flag(m.complete) + "]";
  }
  return s;
}

bool SameHead(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.version == b.version && a.target == b.target &&
         a.keep_alive == b.keep_alive && a.chunked == b.chunked &&
         a.expect_continue == b.expect_continue && a.content_length == b.content_length &&
         a.header_bytes == b.header_bytes;
}

// Same requests, same bodies, same error at the same request. Where the stream ends without
// an error, also the same bytes consumed and the same state. After kError the consumed count
// is not compared: kError reports 0 even when chunk framing earlier in that same call was
// processed, so it depends on where the reads ended; the connection closes anyway.
bool SameOutcome(const Outcome& a, const Outcome& b) {
  if (a.error != b.error || a.messages.size() != b.messages.size()) return false;
  if (a.error == ParseError::kNone && (a.consumed != b.consumed || a.in_body != b.in_body)) {
    return false;
  }
  for (size_t i = 0; i < a.messages.size(); ++i) {
    const Message& x = a.messages[i];
    const Message& y = b.messages[i];
    if (!SameHead(x.head, y.head) || x.body != y.body || x.complete != y.complete) return false;
  }
  return true;
}

// Feeds `input` whole, split and (if short) byte by byte; all three must agree.
void CheckFeeds(std::string_view input, const Plan& plan) {
  Feeder whole(plan.limits);
  whole.Offer(input);

  Feeder split(plan.limits);
  size_t begin = 0;
  for (size_t cut : plan.cuts) {
    split.Offer(input.substr(begin, cut - begin));
    begin = cut;
  }
  split.Offer(input.substr(begin));
  FUZZ_CHECK(SameOutcome(whole.outcome(), split.outcome()),
             "whole and split differ; " + Describe(plan) + "\n  whole: " +
                 Describe(whole.outcome()) + "\n  split: " + Describe(split.outcome()));

  if (input.size() < kBytewiseMaxInput) {
    Feeder bytes(plan.limits);
    for (size_t i = 0; i < input.size(); ++i) bytes.Offer(input.substr(i, 1));
    FUZZ_CHECK(SameOutcome(whole.outcome(), bytes.outcome()),
               "whole and byte-at-a-time differ; " + Describe(plan) + "\n  whole: " +
                   Describe(whole.outcome()) + "\n  bytes: " + Describe(bytes.outcome()));
  }
}

void FuzzOneInput(std::string_view input) {
  Rng rng(input);
  CheckFeeds(input, Plan{ParserLimits{}, MakeCuts(input.size(), rng)});
  const ParserLimits small = SmallLimits(input, rng);
  CheckFeeds(input, Plan{small, MakeCuts(input.size(), rng)});
}

}  // namespace
}  // namespace proxynode

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxynode::FuzzOneInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
