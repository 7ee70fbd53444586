#include "dataplane/config/config_snapshot.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/config/route_config.h"
#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

constexpr Nanos kHour = 3600 * kSecond;

TEST(ConfigSnapshotTest, DefaultsAreValid) { EXPECT_TRUE(ValidateConfig(NodeConfig{}).ok()); }

struct Case {
  std::string name;
  std::function<void(NodeConfig&)> mutate;
  std::string field;  // the message must start with "<field>: "
  std::string range;  // and name the allowed range, e.g. "[1, 256]"
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

class OutOfRangeTest : public testing::TestWithParam<Case> {};

TEST_P(OutOfRangeTest, IsInvalidArgumentNamingFieldAndRange) {
  const Case& c = GetParam();
  NodeConfig config;
  c.mutate(config);
  const absl::Status status = ValidateConfig(config);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  const std::string message(status.message());
  EXPECT_EQ(message.rfind(c.field + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("out of range " + c.range), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    AllFields, OutOfRangeTest,
    testing::Values(
        Case{"NegativeDelay", [](NodeConfig& c) { c.delay = -1; }, "delay", "[0, 1h]"},
        Case{"DelayOverOneHour", [](NodeConfig& c) { c.delay = kHour + 1; }, "delay", "[0, 1h]"},
        Case{"BodyOverOneMiB", [](NodeConfig& c) { c.body.assign((1 << 20) + 1, 'x'); },
             "body (bytes)", "[0, 1048576]"},
        Case{"ZeroWorkers", [](NodeConfig& c) { c.workers = 0; }, "workers", "[1, 256]"},
        Case{"TooManyWorkers", [](NodeConfig& c) { c.workers = 257; }, "workers", "[1, 256]"},
        Case{"TooManyConnections", [](NodeConfig& c) { c.max_connections = 10'000'001; },
             "max_connections", "[0, 10000000]"},
        Case{"TooManyPending", [](NodeConfig& c) { c.max_pending = 10'000'001; }, "max_pending",
             "[0, 10000000]"},
        Case{"RateLimitTooHigh", [](NodeConfig& c) { c.rate_limit = 100'000'001; }, "rate_limit",
             "[0, 100000000]"},
        Case{"ZeroHeaderTimeout", [](NodeConfig& c) { c.header_timeout = 0; }, "header_timeout",
             "[1ms, 1h]"},
        Case{"SubMillisecondHeaderTimeout",
             [](NodeConfig& c) { c.header_timeout = kMillisecond - 1; }, "header_timeout",
             "[1ms, 1h]"},
        Case{"HeaderTimeoutOverOneHour", [](NodeConfig& c) { c.header_timeout = kHour + 1; },
             "header_timeout", "[1ms, 1h]"},
        Case{"ZeroIdleTimeout", [](NodeConfig& c) { c.idle_timeout = 0; }, "idle_timeout",
             "[1ms, 24h]"},
        Case{"IdleTimeoutOverOneDay", [](NodeConfig& c) { c.idle_timeout = 24 * kHour + 1; },
             "idle_timeout", "[1ms, 24h]"},
        Case{"HeaderBytesTooSmall", [](NodeConfig& c) { c.max_header_bytes = 100; },
             "max_header_bytes", "[256, 1048576]"},
        Case{"HeaderBytesTooLarge", [](NodeConfig& c) { c.max_header_bytes = (1 << 20) + 1; },
             "max_header_bytes", "[256, 1048576]"},
        Case{"BodyBytesTooLarge", [](NodeConfig& c) { c.max_body_bytes = (uint64_t{1} << 40) + 1; },
             "max_body_bytes", "[0, 1099511627776]"}),
    [](const testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

TEST(ConfigSnapshotTest, BoundariesAreValid) {
  std::vector<std::function<void(NodeConfig&)>> edges = {
      [](NodeConfig& c) { c.delay = 0; },
      [](NodeConfig& c) { c.delay = kHour; },
      [](NodeConfig& c) { c.body.clear(); },
      [](NodeConfig& c) { c.body.assign(1 << 20, 'x'); },
      [](NodeConfig& c) { c.workers = 1; },
      [](NodeConfig& c) { c.workers = 256; },
      [](NodeConfig& c) { c.max_connections = 10'000'000; },
      [](NodeConfig& c) { c.max_pending = 10'000'000; },
      [](NodeConfig& c) { c.rate_limit = 100'000'000; },
      [](NodeConfig& c) { c.header_timeout = kMillisecond; },
      [](NodeConfig& c) { c.header_timeout = kHour; },
      [](NodeConfig& c) { c.idle_timeout = kMillisecond; },
      [](NodeConfig& c) { c.idle_timeout = 24 * kHour; },
      [](NodeConfig& c) { c.max_header_bytes = 256; },
      [](NodeConfig& c) { c.max_header_bytes = 1 << 20; },
      [](NodeConfig& c) { c.max_body_bytes = 0; },
      [](NodeConfig& c) { c.max_body_bytes = uint64_t{1} << 40; },
      [](NodeConfig& c) { c.max_requests_per_connection = UINT32_MAX; },
  };
  for (size_t i = 0; i < edges.size(); ++i) {
    NodeConfig config;
    edges[i](config);
    EXPECT_TRUE(ValidateConfig(config).ok()) << "edge " << i << ": " << ValidateConfig(config);
  }
}

TEST(ConfigSnapshotTest, ExactMessages) {
  NodeConfig config;
  config.workers = 0;
  EXPECT_EQ(ValidateConfig(config).message(), "workers: 0 is out of range [1, 256]");

  config = NodeConfig{};
  config.max_header_bytes = 100;
  EXPECT_EQ(ValidateConfig(config).message(),
            "max_header_bytes: 100 is out of range [256, 1048576]");

  config = NodeConfig{};
  config.delay = -kMillisecond;
  EXPECT_EQ(ValidateConfig(config).message(), "delay: -1ms is out of range [0, 1h]");
}

TEST(ConfigSnapshotTest, ReportsTheFirstOffendingField) {
  NodeConfig config;
  config.workers = 0;
  config.max_header_bytes = 1;
  config.delay = -1;
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()).rfind("delay: ", 0), 0u) << status;
}

RouteConfig ProxyRoute(std::string prefix, std::vector<std::string> upstreams) {
  RouteConfig route;
  route.prefix = std::move(prefix);
  route.action = RouteAction::kProxy;
  for (std::string& address : upstreams) {
    route.upstreams.push_back(Upstream{std::move(address), {}});
  }
  return route;
}

std::string MessageWithRoutes(std::vector<RouteConfig> routes) {
  NodeConfig config;
  config.routes = std::move(routes);
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(RouteValidationTest, AcceptsRespondAndProxyRoutes) {
  NodeConfig config;
  RouteConfig respond;
  respond.prefix = "/static/";
  respond.delay = 0;
  config.routes = {
      respond,
      ProxyRoute("/", {"127.0.0.1:8081", "backend.default.svc:80", "[::1]:8080", "my_host-2:1"}),
  };
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
}

TEST(RouteValidationTest, BoundariesAreValid) {
  std::vector<std::function<void(RouteConfig&)>> edges = {
      [](RouteConfig& r) { r.prefix = "/"; },
      [](RouteConfig& r) { r.prefix = "/" + std::string(1023, 'a'); },
      [](RouteConfig& r) { r.delay = 0; },
      [](RouteConfig& r) { r.delay = kHour; },
      [](RouteConfig& r) { r.delay_percent = 0; },
      [](RouteConfig& r) { r.delay_percent = 100; },
      [](RouteConfig& r) { r.connect_timeout = kMillisecond; },
      [](RouteConfig& r) { r.first_byte_timeout = kHour; },
      [](RouteConfig& r) { r.total_timeout = kHour; },
      [](RouteConfig& r) {
        r.upstreams = {Upstream{"h:65535", {}}};
      },
      [](RouteConfig& r) {
        r.upstreams.clear();
        for (int i = 1; i <= 256; ++i) r.upstreams.push_back({"10.0.0.1:" + std::to_string(i), {}});
      },
  };
  for (size_t i = 0; i < edges.size(); ++i) {
    NodeConfig config;
    config.routes = {ProxyRoute("/api/", {"127.0.0.1:8081"})};
    edges[i](config.routes[0]);
    EXPECT_TRUE(ValidateConfig(config).ok()) << "edge " << i << ": " << ValidateConfig(config);
  }
  NodeConfig many;
  for (int i = 0; i < 256; ++i) {
    RouteConfig route;
    // Appended, not "/" + text: GCC 12 at -O3 fails on that (-Wrestrict, GCC bug 105329).
    route.prefix = std::string("/").append(std::to_string(i));
    many.routes.push_back(route);
  }
  EXPECT_TRUE(ValidateConfig(many).ok()) << ValidateConfig(many);
  many.routes.push_back(RouteConfig{});
  EXPECT_EQ(ValidateConfig(many).message(), "routes (count): 257 is out of range [0, 256]");
}

TEST(RouteValidationTest, PrefixMessages) {
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("api", {"a:1"})}),
            "routes[0].prefix: \"api\" must start with '/'");
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("", {"a:1"})}),
            "routes[0].prefix: \"\" must start with '/'");
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("/a b", {"a:1"})}),
            "routes[0].prefix: \"/a b\" has a space or control character (a request target has "
            "none)");
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("/" + std::string(1024, 'a'), {"a:1"})}),
            "routes[0].prefix (bytes): 1025 is out of range [1, 1024]");
  EXPECT_EQ(MessageWithRoutes(
                {ProxyRoute("/api/", {"a:1"}), RouteConfig{}, ProxyRoute("/api/", {"b:1"})}),
            "routes[2].prefix: \"/api/\" is already routes[0]'s prefix");
}

TEST(RouteValidationTest, UpstreamMessages) {
  EXPECT_EQ(MessageWithRoutes({RouteConfig{}, ProxyRoute("/p", {"foo"})}),
            "routes[1].upstreams[0]: \"foo\" is not host:port (no :port)");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"foo:0", "port must be 1-65535"},
      {"foo:65536", "port must be 1-65535"},
      {"foo:", "port must be 1-65535"},
      {"foo:8o", "port must be 1-65535"},
      {"foo:-1", "port must be 1-65535"},
      {":80", "no host"},
      {"::1:80", "an IPv6 host needs brackets, e.g. [::1]:8080"},
      {"[::1:80", "bad [IPv6] literal"},
      {"[nope]:80", "bad [IPv6] literal"},
      {"[]:80", "bad [IPv6] literal"},
      {"http://a:80", "host must be a name or an IP literal"},
      {"a b:80", "host must be a name or an IP literal"},
  };
  for (const auto& [address, problem] : bad) {
    EXPECT_EQ(MessageWithRoutes({ProxyRoute("/", {"ok:1", address})}),
              "routes[0].upstreams[1]: \"" + address + "\" is not host:port (" + problem + ")");
  }
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("/", {"a:1", "b:1", "a:1"})}),
            "routes[0].upstreams[2]: \"a:1\" is already upstreams[0]");
  EXPECT_EQ(MessageWithRoutes({ProxyRoute("/", {})}),
            "routes[0].upstreams (count): 0 is out of range [1, 256]");
  RouteConfig too_many = ProxyRoute("/", {});
  for (int i = 1; i <= 257; ++i) too_many.upstreams.push_back({"a:" + std::to_string(i), {}});
  EXPECT_EQ(MessageWithRoutes({too_many}),
            "routes[0].upstreams (count): 257 is out of range [1, 256]");
  RouteConfig respond = ProxyRoute("/", {"a:1", "b:1"});
  respond.action = RouteAction::kRespond;
  EXPECT_EQ(MessageWithRoutes({respond}),
            "routes[0].upstreams: a RESPOND route takes none (2 given)");
}

TEST(RouteValidationTest, DelayAndTimeoutMessages) {
  const std::vector<std::pair<std::function<void(RouteConfig&)>, std::string>> cases = {
      {[](RouteConfig& r) { r.delay = -kMillisecond; },
       "routes[0].delay: -1ms is out of range [0, 1h]"},
      {[](RouteConfig& r) { r.delay = kHour + kSecond; },
       "routes[0].delay: 1h1s is out of range [0, 1h]"},
      {[](RouteConfig& r) { r.delay_percent = 101; },
       "routes[0].delay_percent: 101 is out of range [0, 100]"},
      {[](RouteConfig& r) { r.connect_timeout = 0; },
       "routes[0].connect_timeout: 0 is out of range [1ms, 1h]"},
      {[](RouteConfig& r) { r.first_byte_timeout = kMillisecond - 1; },
       "routes[0].first_byte_timeout: 999.999us is out of range [1ms, 1h]"},
      {[](RouteConfig& r) { r.total_timeout = 2 * kHour; },
       "routes[0].total_timeout: 2h is out of range [1ms, 1h]"},
  };
  for (const auto& [mutate, expected] : cases) {
    RouteConfig route = ProxyRoute("/", {"a:1"});
    mutate(route);
    EXPECT_EQ(MessageWithRoutes({route}), expected);
  }
}

TEST(RouteValidationTest, UpstreamTlsMessages) {
  const std::pair<void (*)(RouteConfig&), std::string> cases[] = {
      {[](RouteConfig& r) {
         r.upstream_protocol = UpstreamProtocol::kH2c;
         r.upstream_tls.emplace();
       },
       "routes[0].upstream_tls: H2C is HTTP/2 in clear; HTTP/2 over TLS is H2"},
      {[](RouteConfig& r) {
         r.upstream_tls.emplace();
         r.upstream_tls->cert_file = "/client.pem";
       },
       "routes[0].upstream_tls: cert_file and key_file go together (a client certificate)"},
  };
  for (const auto& [mutate, expected] : cases) {
    RouteConfig route = ProxyRoute("/", {"a:1"});
    mutate(route);
    EXPECT_EQ(MessageWithRoutes({route}), expected);
  }
  RouteConfig respond;
  respond.upstream_tls.emplace();
  EXPECT_EQ(MessageWithRoutes({respond}),
            "routes[0].upstream_tls: a RESPOND route has no upstreams to speak TLS to");
  RouteConfig h2 = ProxyRoute("/", {"a:1"});
  h2.upstream_protocol = UpstreamProtocol::kH2;  // TLS with the defaults
  NodeConfig config;
  config.routes = {h2};
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(RouteValidationTest, NodeFieldsAreReportedBeforeRoutes) {
  NodeConfig config;
  config.workers = 0;
  config.routes = {ProxyRoute("bad", {})};
  EXPECT_EQ(ValidateConfig(config).message(), "workers: 0 is out of range [1, 256]");
}

TEST(ConfigSnapshotTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(100 * kMillisecond), "100ms");
  EXPECT_EQ(FormatDuration(1500 * kMillisecond), "1.5s");
  EXPECT_EQ(FormatDuration(kHour), "1h");
  EXPECT_EQ(FormatDuration(-kMillisecond), "-1ms");
}

}  // namespace
}  // namespace proxynode
