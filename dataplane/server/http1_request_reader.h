#pragma once

// The request side of an HTTP/1 session: the input buffer, the request parser and the read
// state machine, whose transitions are asserted in debug builds:
//
//   kBetween -> kHead -> kBody <-> kBodyHeld -> kBetween (kStopped after the final request)
//   kBetween <-> kPaused      the session may start no request now (pipeline full, or a
//                             proxied exchange in progress)
//   any -> kStopped           an error answered with close, or a response that closes left
//
// The session pulls parse events one at a time (Next) and decides what each one means.
//
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/clock.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/session.h"

namespace proxynode {

class Http1RequestReader {
 public:
  // Input buffered beyond a request head before parsing catches up (bodies stream through).
  static constexpr size_t kMaxBufferedInput = 64 * 1024;

  enum class State : uint8_t { kBetween, kPaused, kHead, kBody, kBodyHeld, kStopped };

  struct Step {
    enum class Kind : uint8_t {
      kWait,      // nothing more can happen now (more bytes needed, or not allowed)
      kHead,      // a head was parsed: `bytes` is the head block as received; head() has it
      kBody,      // `bytes` is body data
      kComplete,  // the request (body included) has been read
      kError,     // malformed or over a limit: `error`
    };
    Kind kind = Kind::kWait;
    std::string_view bytes;
    ParseError error = ParseError::kNone;
  };

  // What the session allows now.
  struct Allowance {
    bool new_request = true;  // a new request may start
    bool body = true;         // the current body may go on (its upstream takes more)
  };

  // The body of the current request is always read; a new request only when allowed.
  bool WantsInput() const { return in_body() || state_ == State::kBetween || in_head(); }
  bool CanRead(const SessionHost& host) const {
    return host.readable() && WantsInput() && in_.size() < kMaxBufferedInput;
  }
  // Reads what the socket has (bounded); remembers when it arrived.
  void Read(SessionHost& host);
  // The next parse event within `allowance`. `config` sets the limits of a request that
  // starts here, `now` its start.
  Step Next(const Allowance& allowance, const ConfigSnapshot& config, MonoTime now);
  // A body held for its upstream may go on being parsed.
  void Unhold();
  // A paused reader may start requests again.
  void Resume();
  // The request being read is the connection's last.
  void MarkFinal() { final_request_ = true; }
  // No request after the current one is read.
  void StopReading();
  // Forgets the request in progress and the input after it.
  void AbandonRequest();
  // Back to a pristine state (the session goes back to its pool).
  void Clear(BufferPool& pool);

  State state() const { return state_; }
  bool in_head() const { return state_ == State::kHead; }
  bool in_body() const { return state_ == State::kBody || state_ == State::kBodyHeld; }
  bool body_held() const { return state_ == State::kBodyHeld; }
  bool paused() const { return state_ == State::kPaused; }
  const RequestHead& head() const { return parser_.head(); }
  MonoTime head_started_at() const { return head_started_at_; }
  // When the last bytes read reached this host (0: not known).
  MonoTime arrived_at() const { return arrived_at_; }
  Buffer& input() { return in_; }

 private:
  void Set(State next);

  Buffer in_;
  HttpRequestParser parser_;
  MonoTime head_started_at_ = 0;
  MonoTime arrived_at_ = 0;
  State state_ = State::kBetween;
  bool final_request_ = false;
};

// Inline: three calls a request, in the session's parse loop.
inline Http1RequestReader::Step Http1RequestReader::Next(const Allowance& allowance,
                                                         const ConfigSnapshot& config,
                                                         MonoTime now) {
  Step step;
  if (!in_body()) {
    // Between requests, or inside a head: start or continue one only if allowed.
    if (state_ == State::kStopped || state_ == State::kPaused || in_.empty()) {
      return step;
    }
    if (!allowance.new_request) {
      if (state_ == State::kBetween) {
        Set(State::kPaused);
      }
      return step;
    }
    if (state_ == State::kBetween) {
      Set(State::kHead);
      head_started_at_ = now;
      // Limits in force when a message starts apply to all of it (live updates included).
      parser_.set_limits(ParserLimits{.max_header_bytes = config.max_header_bytes,
                                      .max_body_bytes = config.max_body_bytes});
    }
  }
  if (in_body() && !allowance.body) {
    Set(State::kBodyHeld);  // the upstream takes the body slower than it arrives
    return step;
  }
  // The view stays valid until the next read: Consume only moves the read position.
  const std::string_view input = in_.readable();
  const ParseResult result = parser_.Parse(input);
  in_.Consume(result.consumed);
  switch (result.event) {
    case ParseEvent::kNeedMore:
      break;
    case ParseEvent::kHeadComplete:
      Set(State::kBody);
      step.kind = Step::Kind::kHead;
      step.bytes = input.substr(0, result.consumed);
      break;
    case ParseEvent::kBodyData:
      step.kind = Step::Kind::kBody;
      step.bytes = result.body;
      break;
    case ParseEvent::kMessageComplete:
      Set(final_request_ ? State::kStopped : State::kBetween);
      parser_.Reset();
      step.kind = Step::Kind::kComplete;
      break;
    case ParseEvent::kError:
      step.kind = Step::Kind::kError;
      step.error = result.error;
      break;
  }
  return step;
}

}  // namespace proxynode
