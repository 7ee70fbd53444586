#pragma once

// What a connection needs only while it has something to do: its buffers, the request
// parser, the queue of responses owed, its delay and timeout timers and a proxied exchange.
// A worker keeps these in a pool: a connection takes one when bytes arrive and gives it back
// when it turns idle, so an idle keep-alive connection costs only its small fixed state
// (Connection) and thousands of them cost kilobytes, not megabytes.
//
// Thread contract: one pool per worker; loop thread only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/free_list.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/proxy/proxy_exchange.h"
#include "dataplane/stats/proxy_stats.h"

namespace proxynode {

class Connection;

// One response owed to the client, in request order.
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
  bool proxied = false;  // the response comes from `proxy`
  bool http10 = false;
  RouteStats* route_stats = nullptr;
};

struct ConnectionActivity {
  // The timers call back into `owner`, which the pool sets when it hands this out.
  explicit ConnectionActivity(TimerQueue& timers);

  Connection* owner = nullptr;
  Buffer in;
  Buffer out;
  HttpRequestParser parser;
  std::vector<PendingResponse> queue;  // capacity kept across requests and owners
  size_t queue_head = 0;
  MonoTime head_started_at = 0;
  // When the bytes of the last read reached this host (socket_ops.h: arrival timestamps):
  // a request parsed from them starts its delay then.
  MonoTime arrived_at = 0;
  Timer delay_timer;
  Timer timeout_timer;
  std::unique_ptr<ProxyExchange> proxy;
};

// Lends activities to a worker's connections; what is given back is kept for reuse and
// trimmed as free_list.h describes.
class ConnectionActivityPool {
 public:
  static constexpr Nanos kTrimInterval = TrimmedFreeList<int>::kTrimInterval;

  explicit ConnectionActivityPool(EventLoop& loop, size_t min_kept = 256)
      : loop_(loop), free_(&loop, min_kept) {}
  ConnectionActivityPool(const ConnectionActivityPool&) = delete;
  ConnectionActivityPool& operator=(const ConnectionActivityPool&) = delete;

  // `owner` receives the activity's timer callbacks.
  std::unique_ptr<ConnectionActivity> Acquire(Connection* owner);
  // `activity` must be at rest: empty buffers without storage, empty queue, no exchange,
  // timers cancelled.
  void Release(std::unique_ptr<ConnectionActivity> activity);

  size_t free_count() const { return free_.size(); }
  size_t in_use() const { return in_use_; }
  // Activities created since start (each one an allocation).
  uint64_t created() const { return created_; }

 private:
  EventLoop& loop_;
  size_t in_use_ = 0;
  uint64_t created_ = 0;
  TrimmedFreeList<std::unique_ptr<ConnectionActivity>> free_;
};

}  // namespace proxynode
