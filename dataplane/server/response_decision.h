#pragma once

// What a connection does with a request whose head was just parsed, decided apart from any
// socket: refuse it (429 over the rate limit, 503 over max_pending), answer it (now or after
// its delay), or proxy it, and whether the connection ends after it. This is the seam where
// faults plug in: every input is here, and the session only carries the decision out.
//
// Thread contract: any thread; Admission is shared and thread-safe, the rest is read-only.

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/clock.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"
#include "dataplane/server/worker_faults.h"

namespace proxynode {

enum class Refusal : uint8_t { kNone, kRateLimited, kMaxPending };

struct ResponseDecision {
  ResponsePlan plan;
  Refusal refusal = Refusal::kNone;
  bool holds_pending = false;  // took one of Admission's pending slots: give it back once answered
  bool close = false;          // the connection closes after this response
  // This request used up max_requests_per_connection on a connection that would have stayed
  // open (counted as closed_max_requests).
  bool closes_at_max_requests = false;
  bool send_continue = false;  // answer "100 Continue" before reading the body
};

struct RequestFacts {
  const RequestHead& head;
  std::string_view head_block;  // the head as received (fault rules match its fields)
  const ConfigSnapshot& config;
  MonoTime now = 0;
  // Requests parsed on this connection, this one included.
  uint64_t requests_on_connection = 0;
  // No earlier response is still owed (a 100 Continue may go out at once).
  bool nothing_owed = true;
  // The connection, for the client's address when a fault rule matches on it; null: none.
  const SessionHost* host = nullptr;
  // The request came over HTTP/2 (a proxy route forwards only what its upstreams speak).
  bool http2 = false;
};

// The plain-text body of an error response the node makes itself.
std::string_view ErrorBody(int status);
// The body of the 502 for a TLS handshake with the upstream that failed for `reason`.
std::string UpstreamTlsFailureBody(std::string_view reason);

// Shapes `plan` by the fault rule that fired (plan.fault): its delay where it applies, its
// abort in place of the response (the node answers instead of the upstream), its tag.
void ShapeByFault(const ConfigSnapshot& config, ResponsePlan& plan);

// The fault engine's part of a decision: the configured rules first, then the implicit one
// (a route's delay for `delay_percent` of its requests).
inline void ApplyFaults(const RequestFacts& facts, WorkerFaults& faults, Admission* admission,
                        ResponsePlan& plan) {
  if (facts.config.faults.empty()) {
    faults.Follow(facts.config);  // the seed of the implicit rule's draw (Decide follows too)
  } else {
    const SessionHost* host = facts.host;
    auto client = [host] { return host != nullptr ? host->peer() : SocketAddress{}; };
    const FaultRequest request{.head = facts.head,
                               .head_block = facts.head_block,
                               .route = plan.route,
                               .fetch_client = client};
    plan.fault = faults.Decide(request, facts.config, admission);
    if (plan.fault.rule != nullptr) {
      ShapeByFault(facts.config, plan);
      return;
    }
  }
  if (plan.route != nullptr && plan.delay > 0 && !faults.Draw(plan.route->delay_percent)) {
    plan.delay = 0;
  }
}

// `admission` and `faults` null: no limits or faults apply (the admin listener). Inline:
// once per request, on the session's path.
inline ResponseDecision DecideResponse(const RequestFacts& facts, RequestHandler& handler,
                                       Admission* admission, WorkerFaults* faults) {
  ResponseDecision decision;
  ResponsePlan& plan = decision.plan;
  const ConfigSnapshot& config = facts.config;
  if (admission != nullptr && !admission->TryAcquireRate(config.rate_limit, facts.now)) {
    decision.refusal = Refusal::kRateLimited;
    plan.status = 429;
    plan.body = ErrorBody(429);
    plan.retry_after_seconds = 1;
  } else {
    handler.Handle(facts.head, config, plan);
    // OPTIONS * is about the node, whose own answers no fault rule shapes.
    if (faults != nullptr && facts.head.target_form != TargetForm::kAsterisk) {
      ApplyFaults(facts, *faults, admission, plan);
    }
    if (plan.delay > 0 && admission != nullptr) {
      if (admission->TryAcquirePending(config.max_pending)) {
        decision.holds_pending = true;
      } else {
        decision.refusal = Refusal::kMaxPending;
        if (plan.fault.holds_slot) {
          admission->ReleaseFault();  // refused: the fault never runs
        }
        plan = ResponsePlan{};
        plan.status = 503;
        plan.body = ErrorBody(503);
        plan.retry_after_seconds = 1;
      }
    }
  }
  const bool last_allowed = config.max_requests_per_connection != 0 &&
                            facts.requests_on_connection >= config.max_requests_per_connection;
  decision.closes_at_max_requests = last_allowed && facts.head.keep_alive && !plan.close;
  decision.close = plan.close || !facts.head.keep_alive || last_allowed;
  decision.send_continue = facts.head.expect_continue &&
                           (facts.head.chunked || facts.head.content_length > 0) &&
                           facts.nothing_owed && plan.status < 400;
  return decision;
}

// A proxy route forwards the HTTP version its upstreams speak (RouteConfig::
// upstream_protocol): a request in the other is answered 501, saying so, with nothing held.
void RefuseOtherHttpVersion(const RequestFacts& facts, ServingContext* serving,
                            ResponseDecision& decision);

// A session's decision in `context`'s worker (its limits and faults, none on the admin
// listener), with a refusal counted in the worker's stats. What HTTP/1 and HTTP/2 sessions
// call for each request.
inline ResponseDecision DecideInWorker(const RequestFacts& facts, WorkerContext& context) {
  ServingContext* serving = context.serving;
  ResponseDecision decision =
      DecideResponse(facts, context.handler, serving != nullptr ? &serving->admission : nullptr,
                     serving != nullptr ? &serving->faults : nullptr);
  RefuseOtherHttpVersion(facts, serving, decision);
  switch (decision.refusal) {
    case Refusal::kRateLimited:
      context.stats.rejected.rate_limited.Add();
      break;
    case Refusal::kMaxPending:
      context.stats.rejected.max_pending.Add();
      break;
    case Refusal::kNone:
      break;
  }
  return decision;
}

}  // namespace proxynode
