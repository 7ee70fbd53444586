#include "dataplane/server/response_decision.h"

#include "absl/strings/match.h"
#include "dataplane/http/http_response.h"
#include "dataplane/server/admission.h"

namespace proxynode {

std::string_view ErrorBody(int status) {
  switch (status) {
    case 408:
      return "Request Timeout\n";
    case 413:
      return "Content Too Large\n";
    case 414:
      return "URI Too Long\n";
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

std::string UpstreamTlsFailureBody(std::string_view reason) {
  std::string body = "Bad Gateway: TLS with the upstream failed: ";
  body.append(reason).append("\n");
  return body;
}

namespace {

// The body of a status abort that gives none: the node's text where it has one, else the
// status's reason phrase.
std::string_view FaultStatusBody(int status) {
  switch (status) {
    case 408:
    case 413:
    case 429:
    case 431:
    case 501:
    case 502:
    case 503:
    case 504:
    case 505:
      return ErrorBody(status);
    default:
      return ReasonPhrase(status);
  }
}

}  // namespace

void ShapeByFault(const ConfigSnapshot& config, ResponsePlan& plan) {
  const FaultPlan& fault = plan.fault;
  const FaultRule& rule = *fault.rule;
  // The rule replaces the implicit one: no delay but its own.
  plan.delay = fault.delay;
  if (fault.delay_target != DelayTarget::kRequest && plan.proxy_route != nullptr) {
    // Forwarded at once; the upstream's response is held once its head arrives.
    plan.delay = 0;
    plan.proxy_hold = fault.delay;
    plan.hold_after_head = fault.delay_target == DelayTarget::kFirstByte;
  } else if (fault.delay_target == DelayTarget::kFirstByte) {
    plan.first_byte_delay = fault.delay;
    plan.delay = 0;
  }
  if (fault.abort != AbortKind::kNone) {
    plan.proxy_route = nullptr;
    plan.delay = fault.delay;  // an abort comes after the rule's delay, wherever aimed
    plan.first_byte_delay = 0;
    plan.proxy_hold = 0;
    plan.content_type = "text/plain";
    plan.owns_body = false;
    if (fault.abort == AbortKind::kStatus) {
      plan.status = fault.status;
      plan.body = rule.abort.body.empty() ? FaultStatusBody(fault.status)
                                          : std::string_view(rule.abort.body);
      if (fault.status == 204 || fault.status == 304) {
        plan.body = {};  // bodiless by definition (AppendResponse writes none either)
      }
      plan.extra_fields = &rule.abort.headers;
      plan.grpc_status = rule.abort.grpc_status;
      plan.grpc_message = rule.abort.grpc_message;
      for (const auto& [name, value] : rule.abort.headers) {
        if (absl::EqualsIgnoreCase(name, "content-type")) {
          plan.content_type = {};  // the rule's own field says it, once
        }
      }
    } else {
      // A reset or a cut interrupts the node's own response.
      plan.status = 200;
      plan.body = config.body;
      plan.close = true;
    }
  }
  if (rule.tag_response) {
    plan.fault_tag = rule.name;
  }
}

void RefuseOtherHttpVersion(const RequestFacts& facts, ServingContext* serving,
                            ResponseDecision& decision) {
  const RouteConfig* route = decision.plan.proxy_route;
  if (route == nullptr || route->http2_upstreams() == facts.http2) {
    return;
  }
  if (serving != nullptr) {
    if (decision.holds_pending) {
      serving->admission.ReleasePending();
    }
    if (decision.plan.fault.holds_slot) {
      serving->admission.ReleaseFault();
    }
  }
  ResponseDecision refused;
  refused.close = decision.close;
  refused.closes_at_max_requests = decision.closes_at_max_requests;
  refused.plan.status = 501;
  refused.plan.body =
      facts.http2
          ? "this route forwards HTTP/1.1 only; HTTP/2 requests need upstream_protocol h2c or "
            "h2\n"
          : "this route forwards HTTP/2 only (upstream_protocol h2c or h2); send HTTP/2 "
            "requests\n";
  decision = refused;
}

}  // namespace proxynode
