// libFuzzer target for HttpResponseParser (dataplane/http/http_response_parser.h): the responses
// of upstream servers, which the reverse proxy must treat as untrusted input.
//
// Input layout: the first byte says which requests were HEAD (bit i % 4 of its low nibble for
// the i-th response: '0' none, '1' the first, '2' the second, '3' both, ...), the rest is the
// byte stream one upstream connection sent. A digit keeps seeds and reproducers readable.
//
// The stream is parsed three ways and the results must agree:
//   whole:  every byte arrives in one read;
//   split:  the same bytes arrive in 2 to 9 reads, cut where a hash of the input says;
//   bytes:  one byte per read (streams under kBytewiseMaxInput).
// Every feed drives the parser as ProxyExchange::Pump does: append the read to the buffer of
// unconsumed bytes, call Parse() with all of them (an empty buffer too) until kNeedMore or
// kError, drop `consumed` bytes after each call, and call Finish() when the stream ends (the
// upstream closed). Unlike the proxy, which reuses a connection only when nothing follows the
// response, parsing goes on after kMessageComplete with Reset() for the next request, so the
// state left behind by one response is covered too.
//
// All of that runs twice: with the default limits, and with max_header_bytes made small
// (5-512 bytes, or the first head's size -1/0/+1), which also bounds the trailer section.
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

#include "dataplane/http/http_response_parser.h"
#include "fuzz/fuzz_support.h"

namespace proxynode::fuzz {
namespace {

// How one stream is fed under one set of limits.
struct Plan {
  ResponseParserLimits limits;
  unsigned head_mask = 0;    // bit i % 4: the i-th request was HEAD
  std::vector<size_t> cuts;  // read boundaries for the split feed, strictly increasing
};

bool RequestWasHead(unsigned head_mask, size_t response_index) {
  return ((head_mask >> (response_index % 4)) & 1U) != 0;
}

// Below this limit, which error a non-HTTP stream gets (bad status line or head too large)
// depends on where the reads end: the "HTTP/" prefix is judged only once it is all there.
// Harmless (both fail the exchange, and the proxy uses 64 KiB), so limits start here.
constexpr size_t kMinHeaderBytes = 5;

// Half the time max_header_bytes sits on the first head's size, where off-by-ones live.
ResponseParserLimits SmallLimits(std::string_view stream, Rng& rng) {
  ResponseParserLimits limits;
  const size_t head_end = stream.find("\r\n\r\n");
  if (head_end != std::string_view::npos && rng.Below(2) == 0) {
    limits.max_header_bytes = std::max(kMinHeaderBytes, head_end + 3 + rng.Below(3));
  } else {
    limits.max_header_bytes = kMinHeaderBytes + rng.Below(512 - kMinHeaderBytes + 1);
  }
  return limits;
}

std::string Describe(const Plan& plan) {
  std::string s = "limits{header_bytes=" + Num(plan.limits.max_header_bytes) +
                  "} head_mask=" + Num(plan.head_mask) + " cuts{";
  for (size_t cut : plan.cuts) s += " " + Num(cut);
  return s + " }";
}

// Calls fn(element) for each non-empty, trimmed element of a comma-separated list.
template <typename Fn>
void ForEachElement(std::string_view list, Fn fn) {
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view element = TrimOws(list.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Checks a head block the parser skipped as interim (1xx) or reported as final: the shape of
// its status line and its line endings, independently of the parser's code.
void CheckHeadBlockShape(std::string_view block) {
  FUZZ_CHECK(block.size() >= 14 && block.substr(0, 7) == "HTTP/1." && IsDigit(block[7]) &&
                 block[8] == ' ' && IsDigit(block[9]) && IsDigit(block[10]) && IsDigit(block[11]),
             "head does not start with `HTTP/1.x DDD`: " + std::string(block.substr(0, 16)));
  CheckHeadBytes(block);
}

// Bytes consumed while looking for the final head must be whole interim responses.
void CheckInterimBlocks(std::string_view skipped) {
  while (!skipped.empty()) {
    const size_t end = skipped.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string_view::npos, "consumed a partial interim head");
    const std::string_view block = skipped.substr(0, end + 4);
    CheckHeadBlockShape(block);
    FUZZ_CHECK(block[9] == '1' && block.substr(9, 3) != "101",
               "skipped a non-interim response: " + std::string(block.substr(0, 12)));
    skipped.remove_prefix(block.size());
  }
}

// Checks an accepted final head against its raw bytes: the framing and keep-alive it must get
// (RFC 9112 6.3, 9.3), computed here without the parser's code. A mismatch is how a response
// would be cut short or run into the next one.
void CheckAcceptedHead(const UpstreamResponseHead& head, std::string_view block,
                       bool request_was_head, const ResponseParserLimits& limits) {
  CheckHeadBlockShape(block);
  FUZZ_CHECK(head.header_bytes == block.size() && head.header_bytes <= limits.max_header_bytes,
             "header_bytes " + Num(head.header_bytes) + " for a head of " + Num(block.size()) +
                 " bytes, limit " + Num(limits.max_header_bytes));
  const int status = (block[9] - '0') * 100 + (block[10] - '0') * 10 + (block[11] - '0');
  FUZZ_CHECK(head.status == status && status >= 200 && status <= 599,
             "status " + Num(static_cast<uint64_t>(head.status)) + " for `" +
                 std::string(block.substr(9, 3)) + "`");
  const bool http10 = block[7] == '0';
  FUZZ_CHECK(http10 == (head.version == HttpVersion::kHttp10), "version does not match");
  FUZZ_CHECK(block[12] == ' ' || block[12] == '\r',
             "no space between the status code and the reason");

  size_t content_lengths = 0;
  uint64_t declared = 0;
  bool transfer_encoding = false;
  bool chunked_last = false;
  bool close = false;
  bool keep_alive_option = false;
  ForEachField(block, [&](std::string_view name, std::string_view value) {
    if (EqualsIgnoreCase(name, "content-length")) {
      ++content_lengths;
      declared = ContentLengthValue(value);
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      transfer_encoding = true;
      ForEachElement(value, [&](std::string_view coding) {
        chunked_last = EqualsIgnoreCase(coding, "chunked");
      });
    } else if (EqualsIgnoreCase(name, "connection")) {
      ForEachElement(value, [&](std::string_view option) {
        close = close || EqualsIgnoreCase(option, "close");
        keep_alive_option = keep_alive_option || EqualsIgnoreCase(option, "keep-alive");
      });
    }
  });
  FUZZ_CHECK(content_lengths <= 1, "duplicate Content-Length accepted");
  FUZZ_CHECK(!(content_lengths == 1 && transfer_encoding), "Content-Length with Transfer-Encoding");
  FUZZ_CHECK(!(http10 && transfer_encoding), "HTTP/1.0 with Transfer-Encoding");
  FUZZ_CHECK(head.has_content_length == (content_lengths == 1) && head.content_length == declared,
             "content_length " + Num(head.content_length) + " but the field says " + Num(declared));

  BodyFraming framing = BodyFraming::kUntilClose;
  if (request_was_head || status == 204 || status == 304) {
    framing = BodyFraming::kNone;
  } else if (transfer_encoding) {
    framing = chunked_last ? BodyFraming::kChunked : BodyFraming::kUntilClose;
  } else if (content_lengths == 1) {
    framing = BodyFraming::kContentLength;
  }
  FUZZ_CHECK(head.framing == framing, "framing " + Num(static_cast<uint64_t>(head.framing)) +
                                          ", expected " + Num(static_cast<uint64_t>(framing)));
  const bool keep_alive =
      !close && (!http10 || keep_alive_option) && framing != BodyFraming::kUntilClose;
  FUZZ_CHECK(head.keep_alive == keep_alive, "keep_alive " + Flag(head.keep_alive));
}

// The errors a response can get; request-only ones (and kBodyTooLarge: the body is not
// bounded) mean a request path leaked into the response parser.
void CheckError(ParseError error) {
  switch (error) {
    case ParseError::kBadStatusLine:
    case ParseError::kSwitchingProtocols:
    case ParseError::kTruncated:
    case ParseError::kBadHeader:
    case ParseError::kBadContentLength:
    case ParseError::kConflictingFraming:
    case ParseError::kBadTransferEncoding:
    case ParseError::kBadChunk:
    case ParseError::kHeaderTooLarge:
      FUZZ_CHECK(ParseErrorName(error) != "unknown", "unnamed error");
      return;
    default:
      break;
  }
  FUZZ_CHECK(false, "unexpected error " + std::string(ParseErrorName(error)));
}

struct Message {
  UpstreamResponseHead head;
  bool request_was_head = false;
  std::string body;
  bool complete = false;
};

struct Outcome {
  std::vector<Message> messages;  // every response whose final head completed, in order
  ParseError error = ParseError::kNone;
  uint64_t consumed = 0;  // bytes dropped from the stream, over all calls
  bool in_body = false;   // before Finish(): between kHeadComplete and kMessageComplete
  ParseEvent finish = ParseEvent::kNeedMore;  // what Finish() said at the end of the stream
};

// One upstream connection's parser and input buffer. Offer() is one read() returning `piece`;
// End() is the upstream closing the connection.
class Feeder {
 public:
  Feeder(const ResponseParserLimits& limits, unsigned head_mask)
      : limits_(limits), head_mask_(head_mask), parser_(limits) {
    ResetForNext();
  }

  void Offer(std::string_view piece) {
    if (out_.error != ParseError::kNone) {
      return;  // the exchange fails at a parse error and the connection is closed
    }
    offered_ += piece.size();
    pending_.append(piece);
    while (true) {
      const ExactCopy bytes(pending_);
      const std::string_view input = bytes.view();
      const ParseResult r = parser_.Parse(input);
      CheckResult(r, input);
      out_.consumed += r.consumed;
      message_consumed_ += r.consumed;
      OnResult(r, input);
      FUZZ_CHECK(
          out_.consumed <= offered_,
          "consumed " + Num(out_.consumed) + " bytes in total, only " + Num(offered_) + " offered");
      pending_.erase(0, r.consumed);
      if (r.event == ParseEvent::kNeedMore) {
        CheckRepeats(parser_, input, r);  // asking again changes nothing
        return;
      }
      if (r.event == ParseEvent::kError) {
        return;
      }
    }
  }

  void End() {
    const ParseResult r = parser_.Finish();
    FUZZ_CHECK(r.consumed == 0 && r.body.empty(), "Finish() consumed bytes or gave a body");
    FUZZ_CHECK((r.event == ParseEvent::kError) == (r.error != ParseError::kNone),
               "Finish(): error set on a non-error event, or missing on kError");
    out_.finish = r.event;
    if (out_.error != ParseError::kNone) {
      FUZZ_CHECK(r.event == ParseEvent::kError && r.error == out_.error,
                 "Finish() after kError does not repeat it");
    } else if (out_.in_body && out_.messages.back().head.framing == BodyFraming::kUntilClose) {
      // The close is what ends this body: every byte sent was part of it.
      FUZZ_CHECK(r.event == ParseEvent::kMessageComplete, "until-close body not ended by EOF");
      FUZZ_CHECK(pending_.empty() && out_.consumed == offered_,
                 "until-close body ended with " + Num(pending_.size()) + " bytes unconsumed");
      out_.messages.back().complete = true;
    } else {
      // A partial head, or a counted or chunked body cut short; or nothing at all, which the
      // caller tells apart with AtMessageStart().
      FUZZ_CHECK(
          r.event == ParseEvent::kError && r.error == ParseError::kTruncated,
          "Finish() in the middle of a response gave event " + Num(static_cast<uint64_t>(r.event)));
    }
    // Sticky, for Finish() and Parse() alike.
    const ParseResult again = parser_.Finish();
    FUZZ_CHECK(again.event == r.event && again.error == r.error && again.consumed == 0,
               "Finish() is not sticky");
    const ExactCopy bytes(pending_);
    const ParseResult parse = parser_.Parse(bytes.view());
    FUZZ_CHECK(parse.event == r.event && parse.error == r.error && parse.consumed == 0,
               "Parse() after Finish() does not repeat its result");
  }

  const Outcome& outcome() const { return out_; }

 private:
  void ResetForNext() {
    request_was_head_ = RequestWasHead(head_mask_, out_.messages.size());
    parser_.Reset(request_was_head_);
    FUZZ_CHECK(parser_.AtMessageStart(), "not at message start after Reset()");
    message_consumed_ = 0;
  }

  void OnResult(const ParseResult& r, std::string_view input) {
    switch (r.event) {
      case ParseEvent::kNeedMore:
        if (!out_.in_body) {
          CheckInterimBlocks(input.substr(0, r.consumed));
          // Nothing of this response seen: no bytes consumed or waiting since Reset().
          const bool untouched = message_consumed_ == 0 && input.empty();
          FUZZ_CHECK(parser_.AtMessageStart() == untouched,
                     "AtMessageStart() is " + Flag(parser_.AtMessageStart()) + " with " +
                         Num(input.size()) + " bytes buffered");
        }
        return;
      case ParseEvent::kHeadComplete: {
        FUZZ_CHECK(!out_.in_body, "kHeadComplete inside a body");
        const UpstreamResponseHead& head = parser_.head();
        FUZZ_CHECK(head.header_bytes > 0 && head.header_bytes <= r.consumed,
                   "header_bytes " + Num(head.header_bytes) + " outside the " + Num(r.consumed) +
                       " bytes consumed");
        // RawHead() must be the last header_bytes of the consumed span, in the input.
        const std::string_view raw = parser_.RawHead(input, r);
        FUZZ_CHECK(raw.data() == input.data() + (r.consumed - head.header_bytes) &&
                       raw.size() == head.header_bytes,
                   "RawHead() is not the end of the consumed span");
        FUZZ_CHECK(raw.substr(0, 5) == "HTTP/", "RawHead() does not start with HTTP/");
        CheckInterimBlocks(input.substr(0, r.consumed - head.header_bytes));
        CheckAcceptedHead(head, raw, request_was_head_, limits_);
        FUZZ_CHECK(!parser_.AtMessageStart(), "AtMessageStart() after a head");
        out_.messages.push_back(Message{head, request_was_head_, {}, false});
        out_.in_body = true;
        message_consumed_ = 0;  // from here on: the body's bytes
        return;
      }
      case ParseEvent::kBodyData: {
        FUZZ_CHECK(out_.in_body, "kBodyData outside a body");
        CheckBodyView(r, input);
        Message& m = out_.messages.back();
        FUZZ_CHECK(m.head.framing != BodyFraming::kNone, "body data for a bodiless response");
        m.body.append(r.body);
        if (m.head.framing == BodyFraming::kContentLength) {
          FUZZ_CHECK(m.body.size() <= m.head.content_length, "body of " + Num(m.body.size()) +
                                                                 " bytes over Content-Length " +
                                                                 Num(m.head.content_length));
        }
        return;
      }
      case ParseEvent::kMessageComplete: {
        FUZZ_CHECK(out_.in_body, "kMessageComplete without a head");
        Message& m = out_.messages.back();
        const uint64_t consumed = message_consumed_;  // body framing included
        switch (m.head.framing) {
          case BodyFraming::kNone:
            FUZZ_CHECK(consumed == 0, "bodiless response consumed " + Num(consumed) + " bytes");
            break;
          case BodyFraming::kContentLength:
            FUZZ_CHECK(m.body.size() == m.head.content_length && consumed == m.body.size(),
                       "body of " + Num(m.body.size()) + " bytes (" + Num(consumed) +
                           " consumed), Content-Length " + Num(m.head.content_length));
            break;
          case BodyFraming::kChunked:
            // The last chunk "0\r\n" and the empty line after the trailers, at least.
            FUZZ_CHECK(consumed >= m.body.size() + 5 && r.consumed >= 2 &&
                           input.substr(r.consumed - 2, 2) == "\r\n",
                       "chunked body of " + Num(consumed) + " bytes ends badly");
            break;
          case BodyFraming::kUntilClose:
            FUZZ_CHECK(false, "until-close body completed before the close");
        }
        m.complete = true;
        CheckRepeats(parser_, input, r);  // until Reset()
        out_.in_body = false;
        ResetForNext();
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

  const ResponseParserLimits limits_;
  const unsigned head_mask_;
  HttpResponseParser parser_;
  bool request_was_head_ = false;  // what the current response answers
  std::string pending_;            // bytes read and not yet consumed
  uint64_t offered_ = 0;           // bytes read so far
  // Since Reset() (interim responses) or since kHeadComplete (the body, framing included).
  uint64_t message_consumed_ = 0;
  Outcome out_;
};

std::string Describe(const Outcome& o) {
  std::string s = "error=" + std::string(ParseErrorName(o.error)) + " consumed=" + Num(o.consumed) +
                  " in_body=" + Flag(o.in_body) +
                  " finish=" + Num(static_cast<uint64_t>(o.finish)) +
                  " messages=" + Num(o.messages.size());
  for (const Message& m : o.messages) {
    s += "\n    [status=" + Num(static_cast<uint64_t>(m.head.status)) +
         " version=" + Num(static_cast<uint64_t>(m.head.version)) +
         " head_request=" + Flag(m.request_was_head) + " keep_alive=" + Flag(m.head.keep_alive) +
         " framing=" + Num(static_cast<uint64_t>(m.head.framing)) +
         " content_length=" + Num(m.head.content_length) +
         " header_bytes=" + Num(m.head.header_bytes) + " body=" + Num(m.body.size()) +
         " bytes complete=" + Flag(m.complete) + "]";
  }
  return s;
}

bool SameHead(const UpstreamResponseHead& a, const UpstreamResponseHead& b) {
  return a.status == b.status && a.version == b.version && a.keep_alive == b.keep_alive &&
         a.framing == b.framing && a.has_content_length == b.has_content_length &&
         a.content_length == b.content_length && a.header_bytes == b.header_bytes;
}

// Same responses, same bodies, same error after the same responses, same end (see SameMessages).
bool SameOutcome(const Outcome& a, const Outcome& b) {
  return a.finish == b.finish && SameMessages(a, b, SameHead);
}

void FuzzOneInput(std::string_view input) {
  if (input.empty()) return;
  const unsigned head_mask = static_cast<unsigned char>(input[0]) & 0x0FU;
  const std::string_view stream = input.substr(1);
  Rng rng(input);
  const auto check = [stream](const Plan& plan) {
    CheckFeeds(stream, plan, [&plan] { return Feeder(plan.limits, plan.head_mask); });
  };
  check(Plan{ResponseParserLimits{}, head_mask, MakeCuts(stream.size(), rng)});
  const ResponseParserLimits small = SmallLimits(stream, rng);
  check(Plan{small, head_mask, MakeCuts(stream.size(), rng)});
}

}  // namespace
}  // namespace proxynode::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxynode::fuzz::FuzzOneInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
