#pragma once

// How much of a session's output may leave now when a fault rule shapes it (docs/faults.md):
//  - pacing (a bandwidth fault): the bytes leave no faster than a BytePacer allows, for one
//    response (until its last byte left) or for the rest of the connection;
//  - a hold (a delay on a proxied response's head or first byte): from the moment the
//    response is lent the output, nothing of it leaves until its head has arrived and the
//    delay has passed since, except the head itself for a first-byte hold.
// The writer asks Limit() before each write, reports what left with OnWritten(), and arms
// its pace timer at WakeAt() when output is left that the socket would have taken.
//
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <cstdint>

#include "dataplane/core/byte_pacer.h"
#include "dataplane/core/clock.h"

namespace proxynode {

class OutputGate {
 public:
  // Pacing at `bytes_per_second` from `now`: `shared` (a rule's pacer, shared by the
  // worker's responses it throttles) or the gate's own. `whole_connection`: until Clear.
  void BeginPacing(uint64_t bytes_per_second, BytePacer* shared, bool whole_connection,
                   MonoTime now);
  bool pacing() const { return pacer_ != nullptr; }
  bool pacing_connection() const { return whole_connection_; }
  // The paced response is all buffered (`buffered` bytes of output): pace those, then stop.
  void PaceRest(size_t buffered);

  // A proxied response is lent the output, which holds `buffered` bytes of earlier ones.
  void HoldFromLend(size_t buffered);
  bool awaiting_head() const { return hold_until_ == kUntilHead; }
  // Its head arrived at `now` (`head_bytes` of it in the output): the hold runs `delay`
  // from now, on all of it or, `after_head`, on its body.
  void StartHold(Nanos delay, bool after_head, size_t head_bytes, MonoTime now);
  // The response ended without a head (the node answers instead): nothing to hold.
  void DropHold() { hold_until_ = 0; }

  // Bytes that may leave at `now` (SIZE_MAX: no limit).
  size_t Limit(MonoTime now);
  // `bytes` left at `now`. Returns true when pacing ended with them (a throttled response
  // fully written).
  bool OnWritten(size_t bytes, MonoTime now);
  // When output left behind (`buffered` bytes) may go on; 0 when only the head's arrival
  // can tell.
  MonoTime WakeAt(size_t buffered, MonoTime now) const;

  void StopPacing();
  void Clear();

 private:
  static constexpr MonoTime kUntilHead = INT64_MAX;
  bool holding(MonoTime now) const { return hold_until_ > now; }

  BytePacer own_pacer_;
  BytePacer* pacer_ = nullptr;  // own_pacer_ or a rule's shared one; null: unpaced
  size_t paced_left_ = 0;       // SIZE_MAX: until the response (or connection) ends
  bool whole_connection_ = false;
  size_t hold_from_ = 0;  // bytes of the output that may leave before the hold ends
  MonoTime hold_until_ = 0;
};

}  // namespace proxynode
