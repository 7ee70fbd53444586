#pragma once

// The admin listener's handler: /healthz, /readyz and /metrics. Runs in the admin loop
// thread, the admin listener's own, never a worker's: rendering /metrics there (its /proc
// reads for process_* included) delays only other admin requests, never traffic. It reads
// the node's state through a callback so it does not depend on Dataplane.

#include <atomic>
#include <string>

#include "absl/functional/any_invocable.h"
#include "dataplane/server/request_handler.h"

namespace proxynode {

class AdminHandler : public RequestHandler {
 public:
  // `render_metrics` returns the Prometheus text; `draining` turns /readyz to 503.
  AdminHandler(absl::AnyInvocable<std::string()> render_metrics, const std::atomic<bool>& draining)
      : render_metrics_(std::move(render_metrics)), draining_(draining) {}

  void Handle(const RequestHead& request, const ConfigSnapshot& config,
              ResponsePlan& plan) override;

 private:
  absl::AnyInvocable<std::string()> render_metrics_;
  const std::atomic<bool>& draining_;
};

}  // namespace proxynode
