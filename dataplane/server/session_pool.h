#pragma once

// A worker's sessions (http1_session.h, http2_session.h), lent to connections: a connection
// takes an HTTP/1 one when bytes arrive and gives it back when it turns idle, so an idle
// keep-alive connection costs only its small fixed state (Connection) and thousands of them
// cost kilobytes, not megabytes. An HTTP/2 session is lent for the rest of its connection's
// life. What is given back is kept for reuse and trimmed as core/free_list.h describes.
//
// Thread contract: one pool per worker; loop thread only.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/core/clock.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/free_list.h"
#include "dataplane/server/http1_session.h"
#include "dataplane/server/http2_session.h"

namespace proxynode {

class SessionPool {
 public:
  static constexpr Nanos kTrimInterval = TrimmedFreeList<int>::kTrimInterval;

  explicit SessionPool(EventLoop& loop, size_t min_kept = 256)
      : loop_(loop), free_(&loop, min_kept), free_http2_(&loop, min_kept) {}
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // A session bound to `host`'s connection in the worker `context`.
  std::unique_ptr<Session> Acquire(WorkerContext* context, SessionHost* host);
  std::unique_ptr<Http2Session> AcquireHttp2(WorkerContext* context, SessionHost* host);
  // `session` must be cleared (Session::Clear).
  void Release(std::unique_ptr<Session> session);

  size_t free_count() const { return free_.size(); }
  size_t in_use() const { return in_use_; }
  // Sessions created since start (each one an allocation).
  uint64_t created() const { return created_; }

 private:
  EventLoop& loop_;
  size_t in_use_ = 0;
  uint64_t created_ = 0;
  TrimmedFreeList<std::unique_ptr<Http1Session>> free_;
  TrimmedFreeList<std::unique_ptr<Http2Session>> free_http2_;
};

}  // namespace proxynode
