#include "dataplane/server/request_handler.h"

#include <random>

namespace proxynode {
namespace {

// Whether this request gets the route's delay: `percent` of requests, drawn at random so
// that the delayed ones spread over connections and time rather than following a pattern.
bool DrawDelayed(uint32_t percent) {
  if (percent >= 100) return true;
  if (percent == 0) return false;
  thread_local std::minstd_rand generator(std::random_device{}());
  return generator() % 100 < percent;
}

}  // namespace

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

void RespondHandler::Handle(const RequestHead& request, const ConfigSnapshot& config,
                            ResponsePlan& plan) {
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
  Nanos delay = route->delay.value_or(config.delay);
  plan.delay = DrawDelayed(route->delay_percent) ? delay : 0;
  if (route->action == RouteAction::kProxy) {
    plan.proxy_route = route;
  }
}

}  // namespace proxynode
