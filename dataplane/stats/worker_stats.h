#pragma once

// Per-worker statistics. Each counter is declared once in the X-macro lists below and is
// written only by its worker's loop thread (relaxed atomics, no locked instructions);
// readers on other threads merge the workers' structs (StatsRegistry).

#include <atomic>
#include <cstdint>

#include "dataplane/core/owner_counter.h"
#include "dataplane/stats/histogram.h"

namespace proxynode {

// X(name, metric, help) — monotonically increasing counters, exported as
// proxynode_<metric>_total{worker="..."}.
#define PROXYNODE_WORKER_COUNTERS(X)                                                             \
  X(connections_accepted, connections_accepted, "Connections accepted by this worker")           \
  X(connections_handed_in, connections_handed_in, "Connections received from another worker")    \
  X(connections_handed_out, connections_handed_out, "Connections handed over to another worker") \
  X(requests, requests, "Requests whose head was parsed")                                        \
  X(bytes_in, received_bytes, "Bytes read from clients")                                         \
  X(bytes_out, sent_bytes, "Bytes written to clients")                                           \
  X(closed_max_requests, max_requests_reached,                                                   \
    "Connections whose last response carried Connection: close at max_requests_per_connection")  \
  X(accept_errors, accept_errors, "accept() failures other than EAGAIN")                         \
  X(http2_connections, http2_connections, "Connections that switched to HTTP/2")                 \
  X(http2_requests, http2_requests, "Requests carried by HTTP/2 streams")                        \
  X(tls_handshakes, tls_handshakes, "TLS handshakes completed")                                  \
  X(tls_resumptions, tls_resumptions, "TLS handshakes that resumed an earlier session")

// X(class) — responses by status class, exported as proxynode_responses_total{class="2xx"};
// the counter of each is responses_<class>.
#define PROXYNODE_RESPONSE_CLASSES(X) X(1xx) X(2xx) X(3xx) X(4xx) X(5xx)

// X(reason, help) — why connections closed, exported as
// proxynode_connections_closed_total{reason="..."}; the counter of each is closed_<reason>.
// Every close counts under exactly one, so they sum to the connections closed.
#define PROXYNODE_CLOSE_REASONS(X)                                                        \
  X(by_peer, "The client closed its side")                                                \
  X(io_error, "A socket error or reset, or a client that stopped reading its responses")  \
  X(idle_timeout, "A keep-alive connection idle for idle_timeout")                        \
  X(drain, "Closed because the node drains or stops")                                     \
  X(local,                                                                                \
    "After a response that ends the connection: the client's Connection: close, an "      \
    "error status, max_requests_per_connection, a busy connection at a drain, a fault's " \
    "close")                                                                              \
  X(fault_reset, "Reset by a fault rule")

// X(reason, help) — rejections, exported as proxynode_rejected_total{reason="..."}.
#define PROXYNODE_REJECTION_REASONS(X)                                                       \
  X(max_connections, "503: node connection limit reached")                                   \
  X(fd_limit, "accept failed: out of file descriptors (connection left in the queue)")       \
  X(rate_limited, "429: request rate limit")                                                 \
  X(max_pending, "503: too many requests waiting on a timer")                                \
  X(header_too_large, "431 (414: its request line): head over max_header_bytes")             \
  X(body_too_large, "413: request body over max_body_bytes")                                 \
  X(header_timeout, "408: request head not received within header_timeout")                  \
  X(body_timeout, "408: request body stalled for idle_timeout")                              \
  X(bad_request, "400/501/505: malformed or unsupported request")                            \
  X(http2_flood, "HTTP/2 connection ended (GOAWAY): streams reset past the rapid-reset cap") \
  X(tls_handshake, "TLS handshake failed, or not done within header_timeout")

// X(name, help) — values that go up and down.
#define PROXYNODE_WORKER_GAUGES(X)                                \
  X(connections_active, "Open client connections on this worker") \
  X(pending_timers, "Requests waiting on their delay timer")      \
  X(buffer_blocks_in_use, "Pooled 16 KiB buffers held by connections")

// Aligned to a cache line so that two workers never write the same line.
struct alignas(64) WorkerStats {
#define PROXYNODE_DECLARE_COUNTER(name, metric, help) Counter name;
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
#define PROXYNODE_DECLARE_COUNTER(status_class) Counter responses_##status_class;
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
#define PROXYNODE_DECLARE_COUNTER(reason, help) Counter closed_##reason;
  PROXYNODE_CLOSE_REASONS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
  struct Rejected {
#define PROXYNODE_DECLARE_COUNTER(name, help) Counter name;
    PROXYNODE_REJECTION_REASONS(PROXYNODE_DECLARE_COUNTER)
#undef PROXYNODE_DECLARE_COUNTER
  } rejected;
#define PROXYNODE_DECLARE_GAUGE(name, help) Gauge name;
  PROXYNODE_WORKER_GAUGES(PROXYNODE_DECLARE_GAUGE)
#undef PROXYNODE_DECLARE_GAUGE
  // Time from a request's head being parsed to its response being handed to the kernel.
  LatencyHistogram request_latency;
  // How late a delayed response left compared with its deadline (timer accuracy).
  LatencyHistogram timer_lateness;

  void CountResponse(int status) {
    switch (status / 100) {
      case 1:
        responses_1xx.Add();
        break;
      case 2:
        responses_2xx.Add();
        break;
      case 3:
        responses_3xx.Add();
        break;
      case 4:
        responses_4xx.Add();
        break;
      default:
        responses_5xx.Add();
        break;
    }
  }
};

}  // namespace proxynode
