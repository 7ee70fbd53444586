#include "controlplane/memory_trimmer.h"

#include <malloc.h>

#include <algorithm>

namespace proxynode {

MemoryTrimmer::MemoryTrimmer(std::function<void()> trim)
    : trim_(trim ? std::move(trim) : [] { malloc_trim(0); }) {}

void MemoryTrimmer::Tick(int64_t connections, size_t workers_reaped) {
  peak_ = std::max(peak_, connections);
  const bool dropped = peak_ - connections >= kDropConnections && connections <= peak_ / 2;
  if (!dropped && workers_reaped == 0) {
    return;
  }
  trim_();
  ++trims_;
  peak_ = connections;
}

}  // namespace proxynode
