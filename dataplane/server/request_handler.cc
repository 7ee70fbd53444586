#include "dataplane/server/request_handler.h"

namespace proxynode {

const RouteConfig* MatchRoute(const std::vector<RouteConfig>& routes, std::string_view target) {
  const RouteConfig* best = nullptr;
  for (const RouteConfig& route : routes) {
    if (target.starts_with(route.prefix) &&
        (best == nullptr || route.prefix.size() > best->prefix.size())) {
      best = &route;
    }
  }
  return best;
}

void AnswerOptionsAsterisk(const AllowField& allow, ResponsePlan& plan) {
  plan.status = 204;
  plan.delay = 0;
  plan.body = {};
  plan.extra_fields = &allow;
}

void RespondHandler::Handle(const RequestHead& request, const ConfigSnapshot& config,
                            ResponsePlan& plan) {
  if (request.target_form == TargetForm::kAsterisk) {
    // Every method but CONNECT (refused by the parser) is answered or proxied.
    static const AllowField* const kAllow =
        new AllowField{{"Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"}};
    AnswerOptionsAsterisk(*kAllow, plan);
    return;
  }
  plan.status = 200;
  plan.delay = config.delay;
  plan.body = config.body;
  if (config.routes.empty()) {
    return;
  }
  const RouteConfig* route = MatchRoute(config.routes, request.target);
  if (route == nullptr) {
    return;
  }
  plan.route = route;
  plan.delay = route->delay.value_or(config.delay);
  if (route->action == RouteAction::kProxy) {
    plan.proxy_route = route;
  }
}

}  // namespace proxynode
