// The proto <-> NodeConfig translation of routes: every field out, defaults in, whole-list
// replacement by field mask, config files in text format and JSON, and refusals by field.

#include "controlplane/config_translator.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

using ::testing::HasSubstr;

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask mask;
  for (const char* path : paths) mask.add_paths(path);
  return mask;
}

v1::Route ProxyRoute(const std::string& prefix, std::initializer_list<const char*> upstreams) {
  v1::Route route;
  route.set_prefix(prefix);
  route.set_action(v1::Route::PROXY);
  for (const char* upstream : upstreams) route.add_upstreams(upstream);
  return route;
}

TEST(RouteTranslationTest, UnsetRouteFieldsTakeTheDefaults) {
  v1::NodeConfig update;
  *update.add_routes() = ProxyRoute("/api/", {"127.0.0.1:8081"});
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(NodeConfig{}, update, Mask({"routes"}));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->routes.size(), 1u);
  const RouteConfig& route = config->routes[0];
  const RouteConfig defaults;
  EXPECT_EQ(route.prefix, "/api/");
  EXPECT_EQ(route.action, RouteAction::kProxy);
  ASSERT_EQ(route.upstreams.size(), 1u);
  EXPECT_EQ(route.upstreams[0].address, "127.0.0.1:8081");
  EXPECT_EQ(route.upstreams[0].resolved.length, 0u);  // the control service resolves
  EXPECT_EQ(route.balancing, LoadBalancing::kRoundRobin);
  EXPECT_EQ(route.delay, std::nullopt);  // the node's delay applies
  EXPECT_EQ(route.delay_percent, 100u);
  EXPECT_EQ(route.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(route.first_byte_timeout, defaults.first_byte_timeout);
  EXPECT_EQ(route.total_timeout, defaults.total_timeout);
}

TEST(RouteTranslationTest, EveryRouteFieldIsCopied) {
  v1::Route proto = ProxyRoute("/", {"a:1", "b:2"});
  proto.set_balancing(v1::Route::LEAST_OUTSTANDING);
  proto.set_upstream_protocol(v1::Route::H2C);
  proto.mutable_delay()->set_nanos(200'000'000);
  proto.set_delay_percent(10);
  proto.mutable_connect_timeout()->set_seconds(1);
  proto.mutable_first_byte_timeout()->set_seconds(5);
  proto.mutable_total_timeout()->set_seconds(60);
  v1::NodeConfig update;
  *update.add_routes() = proto;
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(NodeConfig{}, update, Mask({"routes"}));
  ASSERT_TRUE(config.ok()) << config.status();
  const RouteConfig& route = config->routes[0];
  EXPECT_EQ(route.balancing, LoadBalancing::kLeastOutstanding);
  EXPECT_EQ(route.upstream_protocol, UpstreamProtocol::kH2c);
  EXPECT_EQ(route.delay, 200 * kMillisecond);
  EXPECT_EQ(route.delay_percent, 10u);
  EXPECT_EQ(route.connect_timeout, kSecond);
  EXPECT_EQ(route.first_byte_timeout, 5 * kSecond);
  EXPECT_EQ(route.total_timeout, 60 * kSecond);

  // Back out: every field set, and it reads back as the same config.
  v1::NodeConfig out = ToProto(*config);
  ASSERT_EQ(out.routes_size(), 1);
  EXPECT_EQ(out.routes(0).SerializeAsString(), proto.SerializeAsString());
  absl::StatusOr<NodeConfig> again = ApplyFieldMask(NodeConfig{}, out, Mask({"routes"}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->routes, config->routes);
}

TEST(RouteTranslationTest, ToProtoSetsEveryFieldButAnAbsentDelay) {
  NodeConfig config;
  RouteConfig respond;
  respond.prefix = "/static/";
  config.routes = {respond};
  v1::NodeConfig proto = ToProto(config);
  ASSERT_EQ(proto.routes_size(), 1);
  const v1::Route& route = proto.routes(0);
  EXPECT_EQ(route.action(), v1::Route::RESPOND);
  EXPECT_EQ(route.balancing(), v1::Route::ROUND_ROBIN);
  EXPECT_EQ(route.upstream_protocol(), v1::Route::HTTP1);
  EXPECT_FALSE(route.has_delay());
  EXPECT_TRUE(route.has_delay_percent());
  EXPECT_EQ(route.delay_percent(), 100u);
  EXPECT_EQ(route.connect_timeout().seconds(), 2);
  EXPECT_EQ(route.first_byte_timeout().seconds(), 30);
  EXPECT_EQ(route.total_timeout().seconds(), 300);
}

TEST(RouteTranslationTest, UpstreamTlsIsCopiedBothWays) {
  v1::Route proto = ProxyRoute("/", {"greeter:443"});
  proto.set_upstream_protocol(v1::Route::H2);
  proto.mutable_upstream_tls()->set_server_name("greeter.internal");
  proto.mutable_upstream_tls()->set_ca_file("/etc/ca.pem");
  proto.mutable_upstream_tls()->set_cert_file("/etc/client.pem");
  proto.mutable_upstream_tls()->set_key_file("/etc/client.key");
  v1::NodeConfig update;
  *update.add_routes() = proto;
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(NodeConfig{}, update, Mask({"routes"}));
  ASSERT_TRUE(config.ok()) << config.status();
  const RouteConfig& route = config->routes[0];
  EXPECT_EQ(route.upstream_protocol, UpstreamProtocol::kH2);
  ASSERT_TRUE(route.upstream_tls.has_value());
  EXPECT_EQ(route.upstream_tls->server_name, "greeter.internal");
  EXPECT_EQ(route.upstream_tls->ca_file, "/etc/ca.pem");
  EXPECT_EQ(route.upstream_tls->key_file, "/etc/client.key");
  EXPECT_TRUE(route.uses_tls());
  const v1::Route back = ToProto(*config).routes(0);
  EXPECT_EQ(back.upstream_protocol(), v1::Route::H2);
  EXPECT_EQ(back.upstream_tls().SerializeAsString(), proto.upstream_tls().SerializeAsString());

  // No upstream_tls: none, and HTTP1 stays clear.
  v1::NodeConfig plain;
  *plain.add_routes() = ProxyRoute("/", {"a:1"});
  absl::StatusOr<NodeConfig> clear = ApplyFieldMask(NodeConfig{}, plain, Mask({"routes"}));
  ASSERT_TRUE(clear.ok());
  EXPECT_FALSE(clear->routes[0].uses_tls());
  EXPECT_FALSE(ToProto(*clear).routes(0).has_upstream_tls());
}

TEST(RouteTranslationTest, AnUnknownUpstreamProtocolIsRefusedByName) {
  v1::Route proto = ProxyRoute("/", {"a:1"});
  proto.set_upstream_protocol(static_cast<v1::Route::UpstreamProtocol>(7));
  v1::NodeConfig update;
  *update.add_routes() = proto;
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(NodeConfig{}, update, Mask({"routes"}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "routes[0].upstream_protocol: 7 is not HTTP1, H2C or H2");
}

TEST(RouteTranslationTest, TheMaskReplacesTheWholeList) {
  NodeConfig base;
  base.routes.resize(2);
  base.routes[0].prefix = "/a";
  base.routes[1].prefix = "/b";
  v1::NodeConfig update;
  *update.add_routes() = ProxyRoute("/c", {"c:1"});
  absl::StatusOr<NodeConfig> replaced = ApplyFieldMask(base, update, Mask({"routes"}));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  ASSERT_EQ(replaced->routes.size(), 1u);
  EXPECT_EQ(replaced->routes[0].prefix, "/c");

  absl::StatusOr<NodeConfig> cleared = ApplyFieldMask(base, v1::NodeConfig{}, Mask({"routes"}));
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_TRUE(cleared->routes.empty());
}

TEST(RouteTranslationTest, OtherPathsKeepTheRoutesAndTheirAddresses) {
  NodeConfig base;
  RouteConfig route;
  route.action = RouteAction::kProxy;
  route.upstreams = {Upstream{"backend:80", {}}};
  route.upstreams[0].resolved.length = 16;  // as if resolved
  base.routes = {route};
  v1::NodeConfig update;
  update.mutable_delay()->set_seconds(1);
  *update.add_routes() = ProxyRoute("/ignored", {"x:1"});  // not in the mask
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(base, update, Mask({"delay"}));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->routes.size(), 1u);
  EXPECT_EQ(config->routes[0].upstreams[0].address, "backend:80");
  EXPECT_EQ(config->routes[0].upstreams[0].resolved.length, 16u);
}

TEST(RouteTranslationTest, RefusalsNameTheField) {
  auto message_of = [](const v1::Route& route, int index = 0) {
    v1::NodeConfig update;
    for (int i = 0; i < index; ++i)
      // Appended, not "/" + text: GCC 12 at -O3 fails on that (-Wrestrict, GCC bug 105329).
      *update.add_routes() = ProxyRoute(std::string("/").append(std::to_string(i)), {"a:1"});
    *update.add_routes() = route;
    absl::StatusOr<NodeConfig> config = ApplyFieldMask(NodeConfig{}, update, Mask({"routes"}));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
    return std::string(config.status().message());
  };
  v1::Route unspecified = ProxyRoute("/", {"a:1"});
  unspecified.set_action(v1::Route::ACTION_UNSPECIFIED);
  EXPECT_EQ(message_of(unspecified, 1), "routes[1].action: must be RESPOND or PROXY");
  v1::Route unknown_balancing = ProxyRoute("/", {"a:1"});
  unknown_balancing.set_balancing(static_cast<v1::Route::Balancing>(7));
  EXPECT_EQ(message_of(unknown_balancing),
            "routes[0].balancing: 7 is not ROUND_ROBIN or LEAST_OUTSTANDING");
  v1::Route malformed = ProxyRoute("/", {"a:1"});
  malformed.mutable_total_timeout()->set_seconds(1);
  malformed.mutable_total_timeout()->set_nanos(-5);
  EXPECT_EQ(message_of(malformed), "routes[0].total_timeout: malformed duration");
  // Ranges and syntax: ValidateConfig's messages come through.
  EXPECT_EQ(message_of(ProxyRoute("/", {"foo"}), 2),
            "routes[2].upstreams[0]: \"foo\" is not host:port (no :port)");
  v1::Route negative = ProxyRoute("/", {"a:1"});
  negative.mutable_delay()->set_seconds(-1);
  EXPECT_EQ(message_of(negative), "routes[0].delay: -1s is out of range [0, 1h]");
}

TEST(RouteTranslationTest, UnknownPathListsRoutes) {
  absl::StatusOr<NodeConfig> config =
      ApplyFieldMask(NodeConfig{}, v1::NodeConfig{}, Mask({"route"}));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("known fields: delay,"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(", routes"));
}

TEST(RouteTranslationTest, ConfigFilesSetRoutesWhenTheyListSome) {
  NodeConfig base;
  base.routes.resize(1);
  base.routes[0].prefix = "/kept";
  absl::StatusOr<v1::NodeConfig> without = ParseConfigText("workers: 2\n");
  ASSERT_TRUE(without.ok()) << without.status();
  absl::StatusOr<NodeConfig> kept = MergePresentFields(base, *without);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->routes.size(), 1u);
  EXPECT_EQ(kept->routes[0].prefix, "/kept");

  absl::StatusOr<v1::NodeConfig> text = ParseConfigText(
      "routes { prefix: \"/api/\" action: PROXY upstreams: \"127.0.0.1:8081\" "
      "upstreams: \"[::1]:8082\" balancing: LEAST_OUTSTANDING delay { nanos: 200000000 } "
      "delay_percent: 10 }\n"
      "routes { prefix: \"/\" action: RESPOND }\n");
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<v1::NodeConfig> json = ParseConfigText(
      R"({"routes": [{"prefix": "/api/", "action": "PROXY",
                      "upstreams": ["127.0.0.1:8081", "[::1]:8082"],
                      "balancing": "LEAST_OUTSTANDING", "delay": "0.2s", "delayPercent": 10},
                     {"prefix": "/", "action": "RESPOND"}]})");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const v1::NodeConfig& file : {*text, *json}) {
    absl::StatusOr<NodeConfig> merged = MergePresentFields(base, file);
    ASSERT_TRUE(merged.ok()) << merged.status();
    ASSERT_EQ(merged->routes.size(), 2u);
    const RouteConfig& api = merged->routes[0];
    EXPECT_EQ(api.prefix, "/api/");
    EXPECT_EQ(api.action, RouteAction::kProxy);
    ASSERT_EQ(api.upstreams.size(), 2u);
    EXPECT_EQ(api.upstreams[1].address, "[::1]:8082");
    EXPECT_EQ(api.balancing, LoadBalancing::kLeastOutstanding);
    EXPECT_EQ(api.delay, 200 * kMillisecond);
    EXPECT_EQ(api.delay_percent, 10u);
    EXPECT_EQ(merged->routes[1].action, RouteAction::kRespond);
  }

  absl::StatusOr<v1::NodeConfig> unspecified = ParseConfigText("routes { prefix: \"/\" }\n");
  ASSERT_TRUE(unspecified.ok());
  EXPECT_EQ(MergePresentFields(base, *unspecified).status().message(),
            "routes[0].action: must be RESPOND or PROXY");
}

}  // namespace
}  // namespace proxynode
