#pragma once

// One response a client is owed (PendingResponse), and what owing it does to the worker's
// books (ResponseLedger): the pending and fault slots it holds, the gauges it counts in while
// it waits, its access-log record; all given back however it ends (answered, abandoned, or
// the connection closing). HTTP/1's queue (response_queue.h) and HTTP/2's streams
// (http2_stream.h) keep their responses this same way.
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
  int grpc_status = -1;  // see ResponsePlan
  std::string_view grpc_message;
  // Its access-log record, when the request is logged (access_log.h).
  AccessRecord* access = nullptr;

  std::string_view body_text() const { return owns_body ? std::string_view(owned_body) : body; }
};

class ResponseLedger {
 public:
  // The worker the pooled session is lent into. `admission` null: no pending slots are ever
  // taken (the admin listener). `access` null: no access log.
  void Bind(WorkerStats* stats, Admission* admission, AccessRecorder* access) {
    stats_ = stats;
    admission_ = admission;
    access_ = access;
  }

  // Fills `entry` with the response `decision` says for `head`, owed from `started` (its
  // deadline after the delay), with the snapshot that keeps its body alive. Takes the plan's
  // owned body.
  void Fill(PendingResponse& entry, const RequestHead& head, ResponseDecision& decision,
            MonoTime started, SnapshotRef snapshot) const;
  // `entry` left at `now` with `status` (0: the client got none, a fault's close, reset or
  // silence): counts it, logs it (`end` says how it left), frees its slots and resets it.
  void Complete(PendingResponse& entry, int status, MonoTime now, const ResponseEnd& end = {});
  // `entry` will never be answered: gives back what it holds (logged as status 0).
  void Release(PendingResponse& entry);

 private:
  WorkerStats* stats_ = nullptr;
  Admission* admission_ = nullptr;
  AccessRecorder* access_ = nullptr;
};

}  // namespace proxynode
