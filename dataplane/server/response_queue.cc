#include "dataplane/server/response_queue.h"

#include "dataplane/server/admission.h"

namespace proxynode {

void ResponseQueue::CompleteFront(int status, MonoTime now, const ResponseEnd& end) {
  PendingResponse& entry = front();
  if (entry.access != nullptr) {
    access_->Finish(entry.access, status, end, now);
  }
  if (status != 0) {
    stats_->CountResponse(status);
  }
  stats_->request_latency.Record(now - entry.started);
  if (entry.route_stats != nullptr) {
    entry.route_stats->latency.Record(now - entry.started);
  }
  if (entry.delayed) {
    stats_->timer_lateness.Record(now - entry.deadline);
    stats_->pending_timers.Add(-1);
  }
  if (entry.holds_pending) {
    admission_->ReleasePending();
  }
  if (entry.holds_fault_slot) {
    admission_->ReleaseFault();
  }
  entry = PendingResponse{};  // unpins the snapshot now
  ++head_;
}

void ResponseQueue::DropBack() {
  Release(entries_.back());
  entries_.pop_back();
}

void ResponseQueue::ReleaseAll() {
  for (size_t i = head_; i < entries_.size(); ++i) {
    Release(entries_[i]);
  }
  entries_.clear();
  head_ = 0;
}

void ResponseQueue::Release(PendingResponse& entry) {
  if (entry.access != nullptr) {
    // The client gets no response: logged as status 0 (nginx's 499), when it went away.
    access_->Finish(entry.access, 0, {}, MonotonicNow());
    entry.access = nullptr;
  }
  if (entry.delayed) {
    stats_->pending_timers.Add(-1);
    entry.delayed = false;
  }
  if (entry.holds_pending) {
    admission_->ReleasePending();
    entry.holds_pending = false;
  }
  if (entry.holds_fault_slot) {
    admission_->ReleaseFault();
    entry.holds_fault_slot = false;
  }
}

}  // namespace proxynode
