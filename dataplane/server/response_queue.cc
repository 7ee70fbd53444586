#include "dataplane/server/response_queue.h"

#include "dataplane/server/admission.h"

namespace proxynode {

PendingResponse& ResponseQueue::Append(MonoTime started) {
  // Restart at the front once everything queued has left: the capacity is reused.
  if (empty()) {
    entries_.clear();
    head_ = 0;
  }
  PendingResponse& entry = entries_.emplace_back();
  entry.started = started;
  return entry;
}

PendingResponse& ResponseQueue::AppendDecided(const RequestHead& head, ResponseDecision& decision,
                                              MonoTime started, SnapshotRef snapshot) {
  ResponsePlan& plan = decision.plan;
  PendingResponse& entry = Append(started);
  entry.deadline = started + plan.delay;
  entry.snapshot = std::move(snapshot);
  entry.owns_body = plan.owns_body;
  if (plan.owns_body) {
    entry.owned_body = std::move(plan.owned_body);
  } else {
    entry.body = plan.body;
  }
  entry.content_type = plan.content_type;
  entry.status = plan.status;
  entry.retry_after_seconds = plan.retry_after_seconds;
  entry.head_only = head.method == HttpMethod::kHead;
  entry.close = decision.close;
  entry.keep_alive_header = head.version == HttpVersion::kHttp10 && !decision.close;
  entry.http10 = head.version == HttpVersion::kHttp10;
  entry.holds_pending = decision.holds_pending;
  entry.delayed = plan.delay > 0 && plan.proxy_route == nullptr;
  if (entry.delayed) {
    stats_->pending_timers.Add(1);
  }
  return entry;
}

void ResponseQueue::CompleteFront(int status, MonoTime now) {
  PendingResponse& entry = front();
  stats_->CountResponse(status);
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
  entry = PendingResponse{};  // unpins the snapshot now
  ++head_;
  if (empty()) {
    entries_.clear();
    head_ = 0;
  }
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
  if (entry.delayed) {
    stats_->pending_timers.Add(-1);
    entry.delayed = false;
  }
  if (entry.holds_pending) {
    admission_->ReleasePending();
    entry.holds_pending = false;
  }
}

}  // namespace proxynode
