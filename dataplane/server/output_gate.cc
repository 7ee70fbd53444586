#include "dataplane/server/output_gate.h"

#include <algorithm>

namespace proxynode {

void OutputGate::BeginPacing(uint64_t bytes_per_second, BytePacer* shared, bool whole_connection,
                             MonoTime now) {
  if (shared != nullptr) {
    pacer_ = shared;
  } else {
    own_pacer_.Start(bytes_per_second, now);
    pacer_ = &own_pacer_;
  }
  whole_connection_ = whole_connection;
  paced_left_ = SIZE_MAX;
}

void OutputGate::PaceRest(size_t buffered) {
  if (pacer_ != nullptr && !whole_connection_) {
    paced_left_ = buffered;
    if (paced_left_ == 0) {
      StopPacing();
    }
  }
}

void OutputGate::HoldFromLend(size_t buffered) {
  hold_from_ = buffered;
  hold_until_ = kUntilHead;
}

void OutputGate::StartHold(Nanos delay, bool after_head, size_t head_bytes, MonoTime now) {
  if (after_head) {
    hold_from_ += head_bytes;
  }
  hold_until_ = now + delay;
}

size_t OutputGate::Limit(MonoTime now) {
  size_t limit = SIZE_MAX;
  if (pacer_ != nullptr) {
    limit = std::min(pacer_->Allowance(now), paced_left_);
  }
  if (holding(now)) {
    limit = std::min(limit, hold_from_);
  }
  return limit;
}

bool OutputGate::OnWritten(size_t bytes, MonoTime now) {
  if (holding(now)) {
    hold_from_ -= bytes;
  }
  if (pacer_ == nullptr) {
    return false;
  }
  pacer_->Spend(bytes);
  if (paced_left_ != SIZE_MAX) {
    paced_left_ -= bytes;
  }
  if (paced_left_ == 0) {
    StopPacing();
    return true;
  }
  return false;
}

MonoTime OutputGate::WakeAt(size_t buffered, MonoTime now) const {
  if (holding(now) && hold_from_ == 0) {
    return hold_until_ == kUntilHead ? 0 : hold_until_;
  }
  if (pacer_ != nullptr) {
    return pacer_->ReadyAt(std::min(buffered, paced_left_));
  }
  return 0;
}

void OutputGate::StopPacing() {
  pacer_ = nullptr;
  paced_left_ = 0;
  whole_connection_ = false;
}

void OutputGate::Clear() {
  StopPacing();
  own_pacer_ = BytePacer{};
  hold_from_ = 0;
  hold_until_ = 0;
}

}  // namespace proxynode
