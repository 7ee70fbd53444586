#include "dataplane/server/http1_request_reader.h"

#include <cassert>

namespace proxynode {
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
  if (state_ != State::kBetween) {
    parser_.Reset();  // it may have been mid-message (between requests it was reset already)
  }
  head_started_at_ = 0;
  arrived_at_ = 0;
  state_ = State::kBetween;
  final_request_ = false;
}

}  // namespace proxynode
