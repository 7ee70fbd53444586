#include "dataplane/server/admin_handler.h"

#include <string_view>

namespace proxynode {
namespace {

std::string_view PathOf(std::string_view target) {
  size_t query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

const AllowField& Allowed() {
  static const AllowField* const kAllow = new AllowField{{"Allow", "GET, HEAD"}};
  return *kAllow;
}

}  // namespace

void AdminHandler::Handle(const RequestHead& request, const ConfigSnapshot& /*config*/,
                          ResponsePlan& plan) {
  plan.delay = 0;
  if (request.target_form == TargetForm::kAsterisk) {
    AnswerOptionsAsterisk(Allowed(), plan);
    return;
  }
  if (request.method != HttpMethod::kGet && request.method != HttpMethod::kHead) {
    plan.status = 405;
    plan.body = "Method Not Allowed\n";
    plan.extra_fields = &Allowed();  // RFC 9110 15.5.6: a 405 says what is allowed
    return;
  }
  std::string_view path = PathOf(request.target);
  if (path == "/healthz") {
    plan.body = "ok\n";
  } else if (path == "/readyz") {
    if (draining_.load(std::memory_order_acquire)) {
      plan.status = 503;
      plan.body = "draining\n";
    } else {
      plan.body = "ready\n";
    }
  } else if (path == "/metrics") {
    plan.owned_body = render_metrics_();
    plan.owns_body = true;
    plan.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else {
    plan.status = 404;
    plan.body = "Not Found: try /healthz, /readyz or /metrics\n";
  }
}

}  // namespace proxynode
