#pragma once

// What to answer to a request: a pure decision, (request, config) -> ResponsePlan. The
// connection carries the plan out (delay timer, in-order write, keep-alive rules).

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/clock.h"
#include "dataplane/config_snapshot.h"
#include "dataplane/http_parser.h"

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
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called in the loop thread once a request head is parsed.
  virtual void Handle(const RequestHead& request, const ConfigSnapshot& config,
                      ResponsePlan& plan) = 0;
};

// The node's default handler: the configured body after the configured delay.
class RespondHandler : public RequestHandler {
 public:
  void Handle(const RequestHead& request, const ConfigSnapshot& config,
              ResponsePlan& plan) override;
};

}  // namespace proxynode
