#pragma once

// The responses a connection owes, in request order (HTTP/1.1 pipelining): each waits until
// its request has been read and its delay has passed, then leaves from the front. The
// vector's capacity is kept across requests and across the connections a pooled session
// serves, so a keep-alive request allocates nothing.
//
// Each entry may hold one of Admission's pending slots and counts in the worker's gauges
// while it waits; the queue gives those back however the entry ends (answered, abandoned,
// or the connection closing).
//
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/clock.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/access_log.h"
#include "dataplane/server/response_decision.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

class Admission;

// One response owed to the client.
struct PendingResponse {
  MonoTime deadline = 0;
  MonoTime started = 0;
  SnapshotRef snapshot;  // keeps `body` valid
  std::string_view body;
  std::string owned_body;
  std::string_view content_type;
  int status = 200;
  uint32_t retry_after_seconds = 0;
  bool owns_body = false;
  bool head_only = false;
  bool close = false;
  bool keep_alive_header = false;
  bool ready = false;          // the request (body included) has been read
  bool holds_pending = false;  // took one of Admission's pending slots
  bool delayed = false;
  bool proxied = false;  // the response comes from the session's proxied exchange
  bool http10 = false;
  RouteStats* route_stats = nullptr;
  // Fault rule effects (docs/faults.md): how the response ends instead of normally, the body
  // held `first_byte_delay` after the head, extra fields, the rule's tag.
  AbortKind abort = AbortKind::kNone;
  bool head_sent = false;         // the head left; the body waits for `deadline`
  bool holds_fault_slot = false;  // took one of max_active_faults' slots
  uint64_t after_bytes = 0;
  Nanos first_byte_delay = 0;
  Nanos proxy_hold = 0;  // see ResponsePlan
  bool hold_after_head = false;
  uint64_t bytes_per_second = 0;
  BandwidthScope bandwidth_scope = BandwidthScope::kResponse;
  BytePacer* shared_pacer = nullptr;
  const std::vector<std::pair<std::string, std::string>>* extra_fields = nullptr;
  std::string_view fault_tag;
  // Its access-log record, when the request is logged (access_log.h).
  AccessRecord* access = nullptr;

  std::string_view body_text() const { return owns_body ? std::string_view(owned_body) : body; }
};

class ResponseQueue {
 public:
  ResponseQueue() = default;
  ResponseQueue(const ResponseQueue&) = delete;
  ResponseQueue& operator=(const ResponseQueue&) = delete;

  // The worker the pooled session is lent into. `admission` null: no pending slots are ever
  // taken (the admin listener). `access` null: no access log.
  void Bind(WorkerStats* stats, Admission* admission, AccessRecorder* access) {
    stats_ = stats;
    admission_ = admission;
    access_ = access;
  }

  // Responses owed.
  size_t depth() const { return entries_.size() - head_; }
  bool empty() const { return head_ == entries_.size(); }
  PendingResponse& front() { return entries_[head_]; }
  const PendingResponse& front() const { return entries_[head_]; }
  PendingResponse& back() { return entries_.back(); }
  // The front is the last one owed.
  bool front_is_last() const { return head_ + 1 == entries_.size(); }

  // A new slot at the back, started at `started`.
  PendingResponse& Append(MonoTime started);
  // The response `decision` says for `head`, owed from `started` (its deadline after the
  // delay), with the snapshot that keeps its body alive. Takes the plan's owned body.
  PendingResponse& AppendDecided(const RequestHead& head, ResponseDecision& decision,
                                 MonoTime started, SnapshotRef snapshot);
  // The front response left at `now` with `status` (0: the client got none, a fault's
  // close, reset or silence): counts it, logs it (`end` says how it left), frees its slot.
  void CompleteFront(int status, MonoTime now, const ResponseEnd& end = {});
  // Forgets the back entry (its request could not complete), giving back what it holds.
  void DropBack();
  // Forgets every entry owed, giving back what each holds.
  void ReleaseAll();

 private:
  void Release(PendingResponse& entry);

  WorkerStats* stats_ = nullptr;
  Admission* admission_ = nullptr;
  AccessRecorder* access_ = nullptr;
  std::vector<PendingResponse> entries_;
  size_t head_ = 0;
};

inline PendingResponse& ResponseQueue::Append(MonoTime started) {
  // Restart at the front once everything queued has left: the capacity is reused.
  if (empty()) {
    entries_.clear();
    head_ = 0;
  }
  PendingResponse& entry = entries_.emplace_back();
  entry.started = started;
  return entry;
}

inline PendingResponse& ResponseQueue::AppendDecided(const RequestHead& head,
                                                     ResponseDecision& decision, MonoTime started,
                                                     SnapshotRef snapshot) {
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
  }
  if (entry.delayed) {
    stats_->pending_timers.Add(1);
  }
  return entry;
}

}  // namespace proxynode
