#pragma once

// What the proxy layer needs from the worker it runs in: the loop, the buffer pool, the
// Date header and the worker's upstream pools. One per proxying worker (the admin listener
// has none); loop thread only.

#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/http/http_response.h"

namespace proxynode {

class UpstreamPools;

struct ProxyContext {
  EventLoop& loop;
  BufferPool& pool;
  DateHeaderCache& date;
  UpstreamPools& upstreams;
};

}  // namespace proxynode
