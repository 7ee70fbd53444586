#pragma once

// Nanoseconds (the data plane's durations) to google.protobuf.Duration, in one place.

#include "dataplane/core/clock.h"
#include "google/protobuf/duration.pb.h"

namespace proxynode {

inline google::protobuf::Duration ToProtoDuration(Nanos nanos) {
  google::protobuf::Duration duration;
  duration.set_seconds(nanos / kSecond);
  duration.set_nanos(static_cast<int32_t>(nanos % kSecond));
  return duration;
}

}  // namespace proxynode
