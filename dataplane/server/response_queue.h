#pragma once

// The responses a connection owes, in request order (HTTP/1.1 pipelining): each waits until
// its request has been read and its delay has passed, then leaves from the front. The
// vector's capacity is kept across requests and across the connections a pooled session
// serves, so a keep-alive request allocates nothing.
//
// Each entry's slots, gauges and log record are kept by the ledger (response_ledger.h),
// which gives them back however the entry ends.
//
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <vector>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/clock.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/response_ledger.h"

namespace proxynode {

class ResponseQueue {
 public:
  ResponseQueue() = default;
  ResponseQueue(const ResponseQueue&) = delete;
  ResponseQueue& operator=(const ResponseQueue&) = delete;

  // The worker the pooled session is lent into. `admission` null: no pending slots are ever
  // taken (the admin listener). `access` null: no access log.
  void Bind(WorkerStats* stats, Admission* admission, AccessRecorder* access) {
    ledger_.Bind(stats, admission, access);
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
  ResponseLedger ledger_;
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
  PendingResponse& entry = Append(started);
  ledger_.Fill(entry, head, decision, started, std::move(snapshot));
  return entry;
}

}  // namespace proxynode
