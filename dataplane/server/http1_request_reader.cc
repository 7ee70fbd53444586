#include "dataplane/server/http1_request_reader.h"

#include <cassert>

namespace proxynode {
namespace {

ParserLimits LimitsFrom(const ConfigSnapshot& config) {
  ParserLimits limits;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_body_bytes = config.max_body_bytes;
  return limits;
}

}  // namespace

void Http1RequestReader::Set(State next) {
  using S = State;
  [[maybe_unused]] const S from = state_;
  assert(
      next == S::kStopped || next == S::kBetween ||
      (from == S::kBetween && (next == S::kPaused || next == S::kHead)) ||
      (from == S::kHead && next == S::kBody) ||
      ((from == S::kBody || from == S::kBodyHeld) && (next == S::kBody || next == S::kBodyHeld)));
  assert(next != S::kBetween || from != S::kStopped);
  state_ = next;
}

void Http1RequestReader::Read(SessionHost& host) {
  const SessionHost::Input input = host.ReadInput(in_, kMaxBufferedInput);
  if (input.arrived_at != 0) {
    arrived_at_ = input.arrived_at;
  }
}

Http1RequestReader::Step Http1RequestReader::Next(const Allowance& allowance,
                                                  const ConfigSnapshot& config, MonoTime now) {
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
      parser_.set_limits(LimitsFrom(config));
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

void Http1RequestReader::Unhold() {
  if (state_ == State::kBodyHeld) {
    Set(State::kBody);
  }
}

void Http1RequestReader::Resume() {
  if (state_ == State::kPaused) {
    Set(State::kBetween);
  }
}

void Http1RequestReader::StopReading() {
  if (in_body()) {
    final_request_ = true;  // its body is still read
  } else if (state_ != State::kStopped) {
    Set(State::kStopped);
  }
}

void Http1RequestReader::AbandonRequest() {
  if (in_head() || in_body()) {
    Set(final_request_ ? State::kStopped : State::kBetween);
  }
  in_.Consume(in_.size());
}

void Http1RequestReader::Clear(BufferPool& pool) {
  in_.Consume(in_.size());
  in_.ReleaseIfEmpty(pool);
  parser_.Reset();  // it may have been mid-message
  head_started_at_ = 0;
  arrived_at_ = 0;
  state_ = State::kBetween;
  final_request_ = false;
}

}  // namespace proxynode
