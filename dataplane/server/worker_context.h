#pragma once

// What a connection needs from the worker that owns it. One per worker; loop thread only.

#include <cstdint>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/http/http_response.h"
#include "dataplane/http2/http2_allocator.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {

class AccessRecorder;
class Admission;
class Connection;
class SessionPool;
class ProxyExchangePool;
class IdleConnections;
class RequestHandler;
class UpstreamPools;
class WorkerFaults;

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // The connection has closed its fd; the owner forgets it and defers its deletion.
  virtual void OnConnectionClosed(Connection* connection) = 0;
  // The connection is idle and its worker is retiring: move it to another worker.
  virtual void HandOver(Connection* connection) = 0;
  // CPU-local mode, for an idle connection: if its packets now arrive on a CPU another
  // worker serves, moves it there and returns true.
  virtual bool MoveToIncomingCpu(Connection* connection) = 0;
};

// What a data worker adds for its connections: the node's limits, the reverse proxy and the
// fault engine.
// The admin listener serves without them (WorkerContext::serving is null there).
struct ServingContext {
  Admission& admission;
  UpstreamPools& upstreams;
  ProxyExchangePool& exchanges;
  WorkerFaults& faults;
};

struct WorkerContext {
  EventLoop& loop;
  BufferPool& pool;
  SessionPool& sessions;
  IdleConnections& idle;
  WorkerStats& stats;
  SnapshotCache& snapshots;
  DateHeaderCache& date;
  RequestHandler& handler;
  ConnectionOwner& owner;
  // A data worker's limits and proxy; null on the admin listener, which neither limits nor
  // proxies.
  ServingContext* serving = nullptr;
  // The worker's side of the access log; null when it is off (and on the admin listener).
  AccessRecorder* access = nullptr;
  // What the worker's HTTP/2 sessions allocate from (null: malloc).
  Http2Allocator* http2_memory = nullptr;
  // CPU-local mode: the CPU this worker is pinned to; -1: not pinned, no steering.
  int cpu = -1;
  bool draining = false;
  bool retiring = false;
};

}  // namespace proxynode
