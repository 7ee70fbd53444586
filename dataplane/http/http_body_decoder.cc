#include "dataplane/http/http_body_decoder.h"

#include <algorithm>

namespace proxynode {
namespace {

using http_syntax::kNpos;

// Bounds one chunk-size line (size, extensions, CRLF) so extensions cannot grow unbounded.
constexpr size_t kMaxChunkLineBytes = 4096;
// 16 hex digits fill 64 bits, so the size cannot overflow.
constexpr size_t kMaxChunkSizeDigits = 16;

ParseResult Event(ParseEvent event, size_t consumed) {
  return ParseResult{event, consumed, {}, ParseError::kNone};
}

ParseResult NeedMore(size_t consumed) { return Event(ParseEvent::kNeedMore, consumed); }

}  // namespace

void HttpBodyDecoder::Start(BodyFraming framing, uint64_t length) {
  switch (framing) {
    case BodyFraming::kNone:
      state_ = State::kFixed;
      remaining_ = 0;
      break;
    case BodyFraming::kContentLength:
      state_ = State::kFixed;
      remaining_ = length;
      break;
    case BodyFraming::kChunked:
      state_ = State::kChunkSize;
      remaining_ = 0;
      break;
    case BodyFraming::kUntilClose:
      state_ = State::kUntilClose;
      remaining_ = 0;
      break;
  }
  chunked_total_ = 0;
  trailer_bytes_ = 0;
  error_ = ParseError::kNone;
}

ParseResult HttpBodyDecoder::Decode(std::string_view input) {
  // Chunk framing (size lines, CRLFs, trailers) is consumed in a loop until an event or a
  // partial line; `offset` counts those bytes so kNeedMore can report them as consumed.
  size_t offset = 0;
  while (true) {
    const std::string_view rest = input.substr(offset);
    ParseResult step;
    switch (state_) {
      case State::kFixed:
      case State::kChunkData: {
        if (state_ == State::kFixed && remaining_ == 0) {
          state_ = State::kDone;
          return Event(ParseEvent::kMessageComplete, offset);
        }
        if (rest.empty()) return NeedMore(offset);
        const size_t n = static_cast<size_t>(std::min<uint64_t>(rest.size(), remaining_));
        remaining_ -= n;
        if (state_ == State::kChunkData && remaining_ == 0) state_ = State::kChunkDataEnd;
        return ParseResult{ParseEvent::kBodyData, offset + n, rest.substr(0, n), ParseError::kNone};
      }
      case State::kUntilClose:
        if (rest.empty()) return NeedMore(offset);
        return ParseResult{ParseEvent::kBodyData, offset + rest.size(), rest, ParseError::kNone};
      case State::kChunkSize:
        step = DecodeChunkSize(rest);
        break;
      case State::kChunkDataEnd:
        // Exactly CRLF must follow chunk data; judge each byte as soon as it is here.
        if (!rest.empty() && rest[0] != '\r') return Fail(ParseError::kBadChunk);
        if (rest.size() >= 2 && rest[1] != '\n') return Fail(ParseError::kBadChunk);
        if (rest.size() < 2) return NeedMore(offset);
        state_ = State::kChunkSize;
        step = NeedMore(2);
        break;
      case State::kTrailers:
        step = DecodeTrailer(rest);
        break;
      case State::kDone:
        return Event(ParseEvent::kMessageComplete, 0);
      case State::kError:
        return ParseResult{ParseEvent::kError, 0, {}, error_};
    }
    if (step.event == ParseEvent::kError) return step;
    offset += step.consumed;
    if (step.event != ParseEvent::kNeedMore) {
      step.consumed = offset;
      return step;
    }
    if (step.consumed == 0) return NeedMore(offset);
  }
}

ParseResult HttpBodyDecoder::Finish() {
  switch (state_) {
    case State::kFixed:
      if (remaining_ != 0) break;
      [[fallthrough]];
    case State::kUntilClose:
    case State::kDone:
      state_ = State::kDone;
      return Event(ParseEvent::kMessageComplete, 0);
    case State::kError:
      return ParseResult{ParseEvent::kError, 0, {}, error_};
    case State::kChunkSize:
    case State::kChunkData:
    case State::kChunkDataEnd:
    case State::kTrailers:
      break;
  }
  return Fail(ParseError::kTruncated);
}

ParseResult HttpBodyDecoder::DecodeChunkSize(std::string_view input) {
  const size_t lf = input.substr(0, kMaxChunkLineBytes).find('\n');
  if (lf == kNpos) {
    if (input.size() >= kMaxChunkLineBytes) return Fail(ParseError::kBadChunk);
    return NeedMore(0);  // keep the partial line in the caller's buffer
  }
  if (lf == 0 || input[lf - 1] != '\r') return Fail(ParseError::kBadChunk);  // bare LF
  const std::string_view line = input.substr(0, lf - 1);

  size_t digits = 0;
  uint64_t size = 0;
  for (; digits < line.size(); ++digits) {
    const char c = http_syntax::ToLowerAscii(line[digits]);
    int value = 0;
    if (http_syntax::IsDigit(c)) {
      value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      value = c - 'a' + 10;
    } else {
      break;
    }
    size = size * 16 + static_cast<uint64_t>(value);
  }
  if (digits == 0 || digits > kMaxChunkSizeDigits) return Fail(ParseError::kBadChunk);
  // Most size lines carry no extension: skip the call then.
  if (digits < line.size() && !http_syntax::ValidChunkExtensions(line.substr(digits))) {
    return Fail(ParseError::kBadChunk);
  }
  // Judged on the declared size, before any of the chunk's data is delivered.
  // The first test guards the subtraction should set_limits() shrink the limit mid-message.
  if (chunked_total_ > limits_.max_body_bytes || size > limits_.max_body_bytes - chunked_total_) {
    return Fail(ParseError::kBodyTooLarge);
  }
  chunked_total_ += size;

  if (size == 0) {
    state_ = State::kTrailers;
    trailer_bytes_ = 0;
  } else {
    state_ = State::kChunkData;
    remaining_ = size;
  }
  return NeedMore(lf + 1);
}

ParseResult HttpBodyDecoder::DecodeTrailer(std::string_view input) {
  // Trailer lines share one budget, including the final empty line.
  const size_t budget =
      trailer_bytes_ < limits_.max_trailer_bytes ? limits_.max_trailer_bytes - trailer_bytes_ : 0;
  const size_t lf = input.substr(0, budget).find('\n');
  if (lf == kNpos) {
    if (input.size() >= budget) return Fail(ParseError::kHeaderTooLarge);
    return NeedMore(0);
  }
  if (lf == 0 || input[lf - 1] != '\r') return Fail(ParseError::kBadHeader);  // bare LF
  trailer_bytes_ += lf + 1;
  const std::string_view line = input.substr(0, lf - 1);
  if (line.empty()) {
    state_ = State::kDone;
    return Event(ParseEvent::kMessageComplete, lf + 1);
  }
  // Trailer contents are discarded, but they must still be well-formed fields.
  std::string_view name;
  std::string_view value;
  if (!http_syntax::SplitField(line, &name, &value)) return Fail(ParseError::kBadHeader);
  return NeedMore(lf + 1);
}

ParseResult HttpBodyDecoder::Fail(ParseError error) {
  state_ = State::kError;
  error_ = error;  // replayed by later calls
  return ParseResult{ParseEvent::kError, 0, {}, error};
}

ParseResult HeadThenBody::Finish() {
  switch (state_) {
    case State::kHead:
      return Fail(ParseError::kTruncated);
    case State::kBody:
      return body_.Finish();
    case State::kError:
      break;
  }
  return ParseResult{ParseEvent::kError, 0, {}, error_};
}

ParseResult HeadThenBody::ScanHead(std::string_view input, size_t start, size_t max_bytes,
                                   ParseError bad_start_line) {
  const http_syntax::HeadEnd end =
      http_syntax::FindHeadEnd(input, start, head_scan_offset_, max_bytes);
  switch (end.status) {
    case http_syntax::HeadEnd::Status::kFound:
      break;
    case http_syntax::HeadEnd::Status::kIncomplete:
      head_scan_offset_ = end.position;
      return NeedMore(0);
    case http_syntax::HeadEnd::Status::kTooLarge:
      return Fail(ParseError::kHeaderTooLarge);
    case http_syntax::HeadEnd::Status::kBareLfInStartLine:
      return Fail(bad_start_line);
    case http_syntax::HeadEnd::Status::kBareLfInFields:
      return Fail(ParseError::kBadHeader);
  }
  return Event(ParseEvent::kHeadComplete, end.position);
}

ParseResult HeadThenBody::Fail(ParseError error) {
  state_ = State::kError;
  error_ = error;  // replayed by later calls
  return ParseResult{ParseEvent::kError, 0, {}, error};
}

}  // namespace proxynode
