#include "dataplane/server/request_handler.h"

#include "gtest/gtest.h"

namespace proxynode {
namespace {

RouteConfig Route(std::string prefix, RouteAction action) {
  RouteConfig route;
  route.prefix = std::move(prefix);
  route.action = action;
  if (action == RouteAction::kProxy) {
    route.upstreams.push_back(Upstream{"127.0.0.1:1", {}});
  }
  return route;
}

TEST(MatchRouteTest, LongestPrefixWins) {
  std::vector<RouteConfig> routes = {Route("/", RouteAction::kRespond),
                                     Route("/api/v1/", RouteAction::kProxy),
                                     Route("/api/", RouteAction::kRespond)};
  EXPECT_EQ(MatchRoute(routes, "/api/v1/users"), &routes[1]);
  EXPECT_EQ(MatchRoute(routes, "/api/v2"), &routes[2]);
  EXPECT_EQ(MatchRoute(routes, "/apix"), &routes[0]);
  EXPECT_EQ(MatchRoute(routes, "*"), nullptr);  // OPTIONS * matches no path prefix
}

TEST(MatchRouteTest, NoRoutesNoMatch) { EXPECT_EQ(MatchRoute({}, "/"), nullptr); }

TEST(RespondHandlerTest, WithoutRoutesAnswersTheConfiguredBodyAfterTheDelay) {
  NodeConfig config;
  config.delay = 7 * kMillisecond;
  RequestHead head;
  head.target = "/x";
  ResponsePlan plan;
  RespondHandler().Handle(head, config, plan);
  EXPECT_EQ(plan.delay, 7 * kMillisecond);
  EXPECT_EQ(plan.body, config.body);
  EXPECT_EQ(plan.route, nullptr);
  EXPECT_EQ(plan.proxy_route, nullptr);
}

TEST(RespondHandlerTest, ProxyRouteIsForwardedWithItsOwnDelay) {
  NodeConfig config;
  config.delay = 100 * kMillisecond;
  config.routes = {Route("/", RouteAction::kRespond), Route("/api/", RouteAction::kProxy)};
  config.routes[1].delay = 3 * kMillisecond;
  RequestHead head;
  head.target = "/api/items";
  ResponsePlan plan;
  RespondHandler().Handle(head, config, plan);
  EXPECT_EQ(plan.proxy_route, &config.routes[1]);
  EXPECT_EQ(plan.route, &config.routes[1]);
  EXPECT_EQ(plan.delay, 3 * kMillisecond);

  head.target = "/other";
  ResponsePlan respond;
  RespondHandler().Handle(head, config, respond);
  EXPECT_EQ(respond.proxy_route, nullptr);
  EXPECT_EQ(respond.route, &config.routes[0]);
  EXPECT_EQ(respond.delay, 100 * kMillisecond);  // no override: the node's delay
}

// OPTIONS * is about the node: answered at once with what it allows, even under a route "/"
// that proxies everything.
TEST(RespondHandlerTest, OptionsAsteriskIsAnsweredWithAllowAtOnce) {
  NodeConfig config;
  config.delay = 100 * kMillisecond;
  config.routes = {Route("/", RouteAction::kProxy)};
  RequestHead head;
  head.method = HttpMethod::kOptions;
  head.target = "*";
  head.target_form = TargetForm::kAsterisk;
  ResponsePlan plan;
  RespondHandler().Handle(head, config, plan);
  EXPECT_EQ(plan.status, 204);
  EXPECT_EQ(plan.delay, 0);
  EXPECT_EQ(plan.route, nullptr);
  EXPECT_EQ(plan.proxy_route, nullptr);
  ASSERT_NE(plan.extra_fields, nullptr);
  ASSERT_EQ(plan.extra_fields->size(), 1u);
  EXPECT_EQ(plan.extra_fields->front().first, "Allow");
  EXPECT_EQ(plan.extra_fields->front().second.find("CONNECT"), std::string::npos);
}

}  // namespace
}  // namespace proxynode
