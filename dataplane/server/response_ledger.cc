#include "dataplane/server/response_ledger.h"

#include <utility>

#include "dataplane/server/admission.h"

namespace proxynode {

void ResponseLedger::Fill(PendingResponse& entry, const RequestHead& head,
                          ResponseDecision& decision, MonoTime started,
                          SnapshotRef snapshot) const {
  ResponsePlan& plan = decision.plan;
  entry.started = started;
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
  entry.extra_fields = plan.extra_fields;  // a fault rule's abort headers, an Allow
  if (plan.fault.rule != nullptr) {
    const FaultPlan& fault = plan.fault;
    entry.abort = fault.abort;
    entry.after_bytes = fault.after_bytes;
    entry.first_byte_delay = plan.first_byte_delay;
    entry.proxy_hold = plan.proxy_hold;
    entry.hold_after_head = plan.hold_after_head;
    entry.bytes_per_second = fault.bytes_per_second;
    entry.bandwidth_scope = fault.bandwidth_scope;
    entry.shared_pacer = fault.shared_pacer;
    entry.holds_fault_slot = fault.holds_slot;
    entry.fault_tag = plan.fault_tag;
    entry.grpc_status = plan.grpc_status;
    entry.grpc_message = plan.grpc_message;
  }
  if (entry.delayed) {
    stats_->pending_timers.Add(1);
  }
}

void ResponseLedger::Complete(PendingResponse& entry, int status, MonoTime now,
                              const ResponseEnd& end) {
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
}

void ResponseLedger::Release(PendingResponse& entry) {
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
