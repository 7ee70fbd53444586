#include "dataplane/server/response_decision.h"

#include "dataplane/server/admission.h"

namespace proxynode {

ResponseDecision DecideResponse(const RequestFacts& facts, RequestHandler& handler,
                                Admission* admission) {
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
    if (plan.delay > 0 && admission != nullptr) {
      if (admission->TryAcquirePending(config.max_pending)) {
        decision.holds_pending = true;
      } else {
        decision.refusal = Refusal::kMaxPending;
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

std::string_view ErrorBody(int status) {
  switch (status) {
    case 408:
      return "Request Timeout\n";
    case 413:
      return "Content Too Large\n";
    case 429:
      return "Too Many Requests\n";
    case 431:
      return "Request Header Fields Too Large\n";
    case 502:
      return "Bad Gateway\n";
    case 504:
      return "Gateway Timeout\n";
    case 501:
      return "Not Implemented\n";
    case 503:
      return "Service Unavailable\n";
    case 505:
      return "HTTP Version Not Supported\n";
    default:
      return "Bad Request\n";
  }
}

}  // namespace proxynode
