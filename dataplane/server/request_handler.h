#pragma once

// What to answer to a request: a pure decision, (request, config) -> ResponsePlan. The
// connection carries the plan out (delay timer, in-order write, keep-alive rules).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/clock.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/worker_faults.h"

namespace proxynode {

struct ResponsePlan {
  int status = 200;
  Nanos delay = 0;
  // The body: a view into the pinned config snapshot (or a static string), or, when
  // `owns_body`, the generated `owned_body`.
  std::string_view body;
  std::string owned_body;
  bool owns_body = false;
  std::string_view content_type = "text/plain";
  bool close = false;
  uint32_t retry_after_seconds = 0;
  // The route that matched (null without routes); for per-route stats.
  const RouteConfig* route = nullptr;
  // Set for a proxy route: forward to its upstreams after `delay` instead of answering.
  const RouteConfig* proxy_route = nullptr;
  // What a fault rule does to the request (rule null: none fired), and how it shapes the
  // response: the head leaves after `delay`, the body `first_byte_delay` later.
  FaultPlan fault;
  Nanos first_byte_delay = 0;
  // A proxied response held back once the upstream's head arrives: all of it, or (with
  // `hold_after_head`) its body.
  Nanos proxy_hold = 0;
  bool hold_after_head = false;
  const std::vector<std::pair<std::string, std::string>>* extra_fields = nullptr;
  std::string_view fault_tag;  // "x-proxynode-fault: <name>" when set
  // A status abort's answer to a gRPC call over HTTP/2 (-1: none; the rule's message).
  int grpc_status = -1;
  std::string_view grpc_message;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called in the loop thread once a request head is parsed.
  virtual void Handle(const RequestHead& request, const ConfigSnapshot& config,
                      ResponsePlan& plan) = 0;
};

// The node's handler: the longest route prefix matching the target decides (respond with
// the configured body, or proxy) and its delay (the route's, else the node's); without
// routes (or no match), the configured body after the configured delay. Which requests get
// a route's delay (`delay_percent`) is the fault engine's draw (response_decision.h).
class RespondHandler : public RequestHandler {
 public:
  void Handle(const RequestHead& request, const ConfigSnapshot& config,
              ResponsePlan& plan) override;
};

// "Allow: <methods>" as a response's extra field; `methods` must be a literal.
using AllowField = std::vector<std::pair<std::string, std::string>>;

// OPTIONS * asks about the server, not a resource (RFC 9110 9.3.7): 204 with Allow, at
// once, never routed.
void AnswerOptionsAsterisk(const AllowField& allow, ResponsePlan& plan);

// The route whose prefix is the longest one starting `target`; null if none.
const RouteConfig* MatchRoute(const std::vector<RouteConfig>& routes, std::string_view target);

}  // namespace proxynode
