#include "dataplane/core/buffer_pool.h"

namespace proxynode {

std::unique_ptr<char[]> BufferPool::Acquire() {
  ++in_use_;
  if (in_use_gauge_ != nullptr) in_use_gauge_->Add(1);
  if (free_.empty()) {
    return std::make_unique_for_overwrite<char[]>(kBlockSize);
  }
  return free_.Take();
}

void BufferPool::Release(std::unique_ptr<char[]> block) {
  --in_use_;
  if (in_use_gauge_ != nullptr) in_use_gauge_->Add(-1);
  free_.Put(std::move(block));
}

}  // namespace proxynode
