// libFuzzer target for HttpRequestParser (dataplane/http/http_parser.h).
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
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http/http_parser.h"
#include "fuzz/fuzz_support.h"

namespace proxynode::fuzz {
namespace {

// How one input is fed under one set of limits.
struct Plan {
  ParserLimits limits;
  std::vector<size_t> cuts;  // read boundaries for the split feed, strictly increasing
};

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

// Checks an accepted head against the raw bytes, independently of the parser's code: the
// properties whose failure would let a request be smuggled past another HTTP implementation.
void CheckAcceptedHead(const RequestHead& head, std::string_view block,
                       const ParserLimits& limits) {
  CheckHeadBytes(block);
  FUZZ_CHECK(!head.target.empty(), "empty request-target");
  FUZZ_CHECK(head.method != HttpMethod::kConnect, "CONNECT accepted");
  // What routes match and what goes upstream is origin-form, or "*" for OPTIONS alone.
  if (head.target_form == TargetForm::kAsterisk) {
    FUZZ_CHECK(head.target == "*" && head.method == HttpMethod::kOptions,
               "asterisk-form " + head.target + " for a method other than OPTIONS");
  } else {
    FUZZ_CHECK(head.target.front() == '/', "target " + head.target + " not in origin-form");
  }
  FUZZ_CHECK(head.authority.empty() == (head.target_form != TargetForm::kAbsolute),
             "authority \"" + head.authority + "\" with a target not in absolute-form");
  FUZZ_CHECK(head.authority.find('@') == std::string::npos, "userinfo in the authority");
  FUZZ_CHECK(std::all_of(head.target.begin(), head.target.end(),
                         [](char c) { return c > 0x20 && c < 0x7F; }),
             "request-target with a byte outside VCHAR");
  FUZZ_CHECK(head.header_bytes <= limits.max_header_bytes,
             "head of " + Num(head.header_bytes) + " bytes over max_header_bytes");
  FUZZ_CHECK(head.content_length <= limits.max_body_bytes, "Content-Length over max_body_bytes");
  FUZZ_CHECK(!head.chunked || head.content_length == 0, "chunked with a content_length");

  // Count the framing fields.
  size_t fields = 0;
  size_t hosts = 0;
  size_t content_lengths = 0;
  size_t transfer_encodings = 0;
  ForEachField(block, [&](std::string_view name, std::string_view value) {
    ++fields;
    if (EqualsIgnoreCase(name, "host")) {
      ++hosts;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++transfer_encodings;
    } else if (EqualsIgnoreCase(name, "content-length")) {
      ++content_lengths;
      const uint64_t declared = ContentLengthValue(value);
      FUZZ_CHECK(declared == head.content_length, "content_length " + Num(head.content_length) +
                                                      " but the field says " + std::string(value));
    }
  });
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
  FUZZ_CHECK(status == 400 || status == 413 || status == 414 || status == 431 || status == 501 ||
                 status == 505,
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
      const ExactCopy bytes(pending_);
      const std::string_view input = bytes.view();
      const ParseResult r = parser_.Parse(input);
      CheckResult(r, input);
      OnResult(r, input);
      out_.consumed += r.consumed;
      message_consumed_ += r.consumed;
      FUZZ_CHECK(
          out_.consumed <= offered_,
          "consumed " + Num(out_.consumed) + " bytes in total, only " + Num(offered_) + " offered");
      pending_.erase(0, r.consumed);
      if (r.event == ParseEvent::kNeedMore) {
        // Asking again changes nothing; the connection never asks with nothing between messages.
        if (out_.in_body || !pending_.empty()) CheckRepeats(parser_, input, r);
        return;
      }
      if (r.event == ParseEvent::kError) {
        return;
      }
    }
  }

  void End() {}  // the client's close is not part of what this fuzzer checks

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
        CheckBodyView(r, input);
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
        CheckRepeats(parser_, input, r);  // until Reset()
        parser_.Reset();
        FUZZ_CHECK(parser_.AtMessageStart(), "not at message start after Reset()");
        out_.in_body = false;
        return;
      }
      case ParseEvent::kError: {
        CheckError(r.error);
        CheckRepeats(parser_, input, r);  // until Reset()
        out_.error = r.error;
        return;
      }
    }
    FUZZ_CHECK(false, "unknown event " + Num(static_cast<uint64_t>(r.event)));
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
         " form=" + Num(static_cast<uint64_t>(m.head.target_form)) +
         " authority=" + m.head.authority + " keep_alive=" + Flag(m.head.keep_alive) +
         " chunked=" + Flag(m.head.chunked) + " expect=" + Flag(m.head.expect_continue) +
         " content_length=" + Num(m.head.content_length) +
         " header_bytes=" + Num(m.head.header_bytes) + " body=" + Num(m.body.size()) +
         " bytes complete=" + Flag(m.complete) + "]";
  }
  return s;
}

bool SameHead(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.version == b.version && a.target == b.target &&
         a.target_form == b.target_form && a.authority == b.authority &&
         a.keep_alive == b.keep_alive && a.chunked == b.chunked &&
         a.expect_continue == b.expect_continue && a.content_length == b.content_length &&
         a.header_bytes == b.header_bytes;
}

// Same requests, same bodies, same error at the same request (see SameMessages).
bool SameOutcome(const Outcome& a, const Outcome& b) { return SameMessages(a, b, SameHead); }

void FuzzOneInput(std::string_view input) {
  Rng rng(input);
  const auto check = [input](const Plan& plan) {
    CheckFeeds(input, plan, [&plan] { return Feeder(plan.limits); });
  };
  check(Plan{ParserLimits{}, MakeCuts(input.size(), rng)});
  const ParserLimits small = SmallLimits(input, rng);
  check(Plan{small, MakeCuts(input.size(), rng)});
}

}  // namespace
}  // namespace proxynode::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxynode::fuzz::FuzzOneInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
