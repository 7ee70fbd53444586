#include "dataplane/server/response_queue.h"

namespace proxynode {

void ResponseQueue::CompleteFront(int status, MonoTime now, const ResponseEnd& end) {
  ledger_.Complete(front(), status, now, end);
  ++head_;
}

void ResponseQueue::DropBack() {
  ledger_.Release(entries_.back());
  entries_.pop_back();
}

void ResponseQueue::ReleaseAll() {
  for (size_t i = head_; i < entries_.size(); ++i) {
    ledger_.Release(entries_[i]);
  }
  entries_.clear();
  head_ = 0;
}

}  // namespace proxynode
