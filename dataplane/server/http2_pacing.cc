// Http2Session's bandwidth faults (http2_session.h): a response's DATA paced by a token
// bucket of its own (scope response), the connection's (scope connection: every stream from
// then on) or the rule's (scope rule), the stream's timer waking it when bytes may go.

#include <algorithm>

#include "dataplane/server/http2_session.h"

namespace proxynode {

void Http2Session::StartPacing(Http2Stream& stream) {
  const PendingResponse& response = stream.response;
  if (response.bytes_per_second == 0) {
    return;
  }
  switch (response.bandwidth_scope) {
    case BandwidthScope::kResponse:
      stream.own_pacer.Start(response.bytes_per_second, now());
      stream.pacer = &stream.own_pacer;
      break;
    case BandwidthScope::kConnection:
      if (!connection_pacer_.active()) {
        connection_pacer_.Start(response.bytes_per_second, now());
      }
      break;
    case BandwidthScope::kRule:
      stream.pacer = response.shared_pacer;
      break;
  }
}

size_t Http2Session::PacedLength(Http2Stream& stream, size_t length) {
  BytePacer* pacer = connection_pacer_.active() ? &connection_pacer_ : stream.pacer;
  if (pacer == nullptr) {
    return length;
  }
  const size_t allowance = pacer->Allowance(now());
  if (allowance == 0) {
    stream.timer.ArmAt(pacer->ReadyAt(length));
    return 0;
  }
  return std::min(length, allowance);
}

void Http2Session::SpendPaced(Http2Stream& stream, size_t bytes) {
  BytePacer* pacer = connection_pacer_.active() ? &connection_pacer_ : stream.pacer;
  if (pacer != nullptr) {
    pacer->Spend(bytes);
  }
}

}  // namespace proxynode
