// key=value parsing (every key, every error message), config files, and the human units
// they rest on.

#include "cli/config_keys.h"

#include <string>
#include <vector>

#include "cli/units.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("250ms"), 250 * kMs);
  EXPECT_EQ(ParseDuration("1.5s"), 1500 * kMs);
  EXPECT_EQ(ParseDuration("2m"), 120 * kS);
  EXPECT_EQ(ParseDuration("0s"), 0);
  EXPECT_EQ(ParseDuration("0"), 0);
  EXPECT_EQ(ParseDuration("100us"), 100'000);
  EXPECT_EQ(ParseDuration("100\xC2\xB5s"), 100'000);  // µs
  EXPECT_EQ(ParseDuration("7ns"), 7);
  EXPECT_EQ(ParseDuration("1h30m"), 5400 * kS);
  EXPECT_EQ(ParseDuration("1m30.5s"), 90'500 * kMs);
  EXPECT_EQ(ParseDuration(".5s"), 500 * kMs);
  EXPECT_EQ(ParseDuration("0.000000001s"), 1);
  EXPECT_EQ(ParseDuration("-5ms"), -5 * kMs);  // parsed; callers refuse negatives
}

TEST(UnitsTest, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "5", "ms", "5x", "5 ms", "1.5", "1..5s", "5MS", "s5", "-", "1.5.s",
                           "9999999999999h", "99999999999999999999ns"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << text;
  }
}

TEST(UnitsTest, ParsesSizes) {
  EXPECT_EQ(ParseSize("8192"), 8192u);
  EXPECT_EQ(ParseSize("8192B"), 8192u);
  EXPECT_EQ(ParseSize("16KiB"), 16u * 1024);
  EXPECT_EQ(ParseSize("16Ki"), 16u * 1024);
  EXPECT_EQ(ParseSize("16kib"), 16u * 1024);
  EXPECT_EQ(ParseSize("1MiB"), 1u << 20);
  EXPECT_EQ(ParseSize("2Gi"), 2ULL << 30);
  EXPECT_EQ(ParseSize("1TiB"), 1ULL << 40);
  EXPECT_EQ(ParseSize("1k"), 1000u);
  EXPECT_EQ(ParseSize("1K"), 1000u);
  EXPECT_EQ(ParseSize("1kB"), 1000u);
  EXPECT_EQ(ParseSize("3M"), 3'000'000u);
  EXPECT_EQ(ParseSize("2G"), 2'000'000'000u);
  EXPECT_EQ(ParseSize("0"), 0u);
}

TEST(UnitsTest, RefusesWhatIsNotASize) {
  for (const char* text : {"", "abc", "KiB", "1.5MiB", "-1", "1Xi", "16 KiB", "1KiBB", "1ib",
                           "99999999999999999999", "20000000Ti"}) {
    EXPECT_EQ(ParseSize(text), std::nullopt) << text;
  }
}

TEST(UnitsTest, ParsesCountsOnlyAsPlainIntegers) {
  EXPECT_EQ(ParseCount("0"), 0u);
  EXPECT_EQ(ParseCount("18446744073709551615"), 18446744073709551615ULL);
  for (const char* text : {"", "-1", "+1", "1k", "1.0", " 1", "18446744073709551616"}) {
    EXPECT_EQ(ParseCount(text), std::nullopt) << text;
  }
}

TEST(UnitsTest, FormatsDurationsExactlyAndShort) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(250 * kMs), "250ms");
  EXPECT_EQ(FormatDuration(1500 * kMs), "1.5s");
  EXPECT_EQ(FormatDuration(90 * kS), "90s");
  EXPECT_EQ(FormatDuration(120 * kS), "2m");
  EXPECT_EQ(FormatDuration(3600 * kS), "1h");
  EXPECT_EQ(FormatDuration(100'000), "100us");
  EXPECT_EQ(FormatDuration(1'500), "1.5us");
  EXPECT_EQ(FormatDuration(7), "7ns");
  EXPECT_EQ(FormatDuration(kS + 1), "1.000000001s");
  // Every form parses back to the same value.
  for (int64_t nanos : {int64_t{0}, 250 * kMs, 1500 * kMs, 90 * kS, 7200 * kS, int64_t{1'500},
                        kS + 1, 86'400 * kS}) {
    EXPECT_EQ(ParseDuration(FormatDuration(nanos)), nanos) << FormatDuration(nanos);
  }
}

TEST(ConfigKeysTest, EveryKeyIsANodeConfigField) {
  ASSERT_EQ(ConfigKeys().size(), 16u);
  int shorthands = 0;
  for (const ConfigKey& key : ConfigKeys()) {
    EXPECT_NE(NodeConfig::descriptor()->FindFieldByName(FieldName(key)), nullptr) << key.name;
    if (FieldName(key) != key.name) ++shorthands;
  }
  EXPECT_EQ(shorthands, 1);  // upstream, for routes
  EXPECT_EQ(FieldName(*FindConfigKey("upstream")), "routes");
  // Every NodeConfig field but the output-only version and the fault rules (`proxyctl
  // fault` edits those) is settable; `tcp_proxies` too (a JSON list that `config get`
  // prints and `config set` takes back), beside `proxyctl tcp` and `toxic`.
  EXPECT_EQ(FindConfigKey("faults"), nullptr);
  EXPECT_NE(FindConfigKey("tcp_proxies"), nullptr);
  EXPECT_EQ(NodeConfig::descriptor()->field_count(),
            static_cast<int>(ConfigKeys().size()) - shorthands + 2);
}

TEST(ConfigKeysTest, SetsEveryKey) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(
      {"delay=250ms", "body=Hi there=1", "workers=3", "max_connections=1000", "max_pending=50",
       "rate_limit=2000", "header_timeout=1.5s", "idle_timeout=2m", "max_header_bytes=16KiB",
       "max_body_bytes=1MiB", "max_requests_per_connection=100", "max_active_faults=64",
       "fault_seed=18446744073709551615"});
  ASSERT_TRUE(change.ok()) << change.status();
  const NodeConfig& c = change->config;
  EXPECT_EQ(c.delay().seconds(), 0);
  EXPECT_EQ(c.delay().nanos(), 250'000'000);
  EXPECT_EQ(c.body(), "Hi there=1");  // split at the first '=' only
  EXPECT_EQ(c.workers(), 3u);
  EXPECT_EQ(c.max_connections(), 1000u);
  EXPECT_EQ(c.max_pending(), 50u);
  EXPECT_EQ(c.rate_limit(), 2000u);
  EXPECT_EQ(c.header_timeout().seconds(), 1);
  EXPECT_EQ(c.header_timeout().nanos(), 500'000'000);
  EXPECT_EQ(c.idle_timeout().seconds(), 120);
  EXPECT_EQ(c.max_header_bytes(), 16u * 1024);
  EXPECT_EQ(c.max_body_bytes(), 1u << 20);
  EXPECT_EQ(c.max_requests_per_connection(), 100u);
  EXPECT_EQ(c.max_active_faults(), 64u);
  EXPECT_EQ(c.fault_seed(), 18446744073709551615u);  // uint64's largest
  std::vector<std::string> paths(change->mask.paths().begin(), change->mask.paths().end());
  EXPECT_THAT(paths, ::testing::ElementsAre(
                         "delay", "body", "workers", "max_connections", "max_pending", "rate_limit",
                         "header_timeout", "idle_timeout", "max_header_bytes", "max_body_bytes",
                         "max_requests_per_connection", "max_active_faults", "fault_seed"));
}

TEST(ConfigKeysTest, OnlyTheNamedFieldsAreSet) {
  absl::StatusOr<ConfigChange> change = ParseAssignments({"delay=0s"});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_TRUE(change->config.has_delay());
  EXPECT_FALSE(change->config.has_workers());
  EXPECT_EQ(change->mask.paths_size(), 1);
}

TEST(ConfigKeysTest, AcceptsDashesForUnderscoresAndEmptyBody) {
  absl::StatusOr<ConfigChange> change = ParseAssignments({"max-pending=5", "body="});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->config.max_pending(), 5u);
  EXPECT_EQ(change->config.body(), "");
  EXPECT_EQ(change->mask.paths(0), "max_pending");
}

TEST(ConfigKeysTest, SyntaxOnlyRangesAreTheNodes) {
  // Out of the node's range, but well-formed: the node refuses these, not proxyctl.
  EXPECT_TRUE(ParseAssignments({"workers=1000"}).ok());
  EXPECT_TRUE(ParseAssignments({"workers=0"}).ok());
  EXPECT_TRUE(ParseAssignments({"delay=2h"}).ok());
  EXPECT_TRUE(ParseAssignments({"header_timeout=0s"}).ok());
}

std::string ErrorOf(const std::vector<std::string>& args) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(args);
  EXPECT_FALSE(change.ok()) << "accepted: " << args.front();
  if (change.ok()) return "";
  EXPECT_EQ(change.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(change.status().message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  return message;
}

TEST(ConfigKeysTest, BadValueNamesKeyValueAndAllowedForm) {
  EXPECT_EQ(ErrorOf({"delay=-5ms"}),
            "delay=-5ms: must be a duration >= 0 like 250ms, 1.5s or 0s (0s-1h)");
  EXPECT_EQ(ErrorOf({"workers=abc"}), "workers=abc: must be an integer 1-256");
  // One bad value for every key that can have one (body takes any text).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"delay", "5"},
      {"workers", "-1"},
      {"workers", "4294967296"},  // does not fit the field
      {"max_connections", "1k"},
      {"max_pending", "ten"},
      {"rate_limit", "1.5"},
      {"header_timeout", "10"},
      {"idle_timeout", "-1s"},
      {"max_header_bytes", "8GiB"},  // beyond uint32
      {"max_body_bytes", "1.5MiB"},
      {"max_requests_per_connection", ""},
      {"max_active_faults", "4294967296"},     // does not fit the field
      {"fault_seed", "18446744073709551616"},  // beyond uint64
  };
  for (const auto& [key, value] : cases) {
    std::string arg = key + "=" + value;
    const ConfigKey* found = FindConfigKey(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(ErrorOf({arg}), arg + ": must be " + found->allowed);
  }
  for (const ConfigKey& key : ConfigKeys()) {
    EXPECT_THAT(key.allowed, ::testing::AnyOf(HasSubstr("duration"), HasSubstr("integer"),
                                              HasSubstr("size"), HasSubstr("text"),
                                              HasSubstr("JSON array"), HasSubstr("HOST:PORT")))
        << key.name;
  }
}

TEST(ConfigKeysTest, OtherMistakesAreNamed) {
  EXPECT_THAT(ErrorOf({"nosuchkey=1"}),
              StartsWith("nosuchkey=1: unknown key; keys: delay, body, workers,"));
  EXPECT_THAT(ErrorOf({"workers"}), StartsWith("workers: expected key=value"));
  EXPECT_THAT(ErrorOf({"=5"}), StartsWith("=5: expected key=value"));
  EXPECT_EQ(ErrorOf({"workers=2", "workers=3"}), "workers=3: workers is given twice");
  EXPECT_THAT(ErrorOf({"version=3"}), StartsWith("version=3: version is output only"));
  EXPECT_THAT(ErrorOf({}), StartsWith("nothing to set"));
  // The first bad argument is the one reported.
  EXPECT_THAT(ErrorOf({"delay=1s", "workers=x", "nosuch=1"}), StartsWith("workers=x:"));
}

TEST(ConfigKeysTest, FormattedValuesParseBack) {
  absl::StatusOr<ConfigChange> change =
      ParseAssignments({"delay=1.5s", "body=a\"b\n", "workers=3", "max_connections=7",
                        "max_pending=0", "rate_limit=9", "header_timeout=250ms", "idle_timeout=90s",
                        "max_header_bytes=16KiB", "max_body_bytes=1000",
                        "max_requests_per_connection=4", "max_active_faults=5", "fault_seed=42"});
  ASSERT_TRUE(change.ok()) << change.status();
  std::vector<std::string> again;
  for (const ConfigKey& key : ConfigKeys()) {
    if (key.kind == ConfigKey::Kind::kString) continue;  // shown quoted
    if (key.kind == ConfigKey::Kind::kRoutes || key.kind == ConfigKey::Kind::kUpstreamPool) {
      continue;  // shown one line per route
    }
    again.push_back(std::string(key.name) + "=" + FormatConfigValue(change->config, key));
  }
  absl::StatusOr<ConfigChange> reparsed = ParseAssignments(again);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  reparsed->config.set_body(change->config.body());
  EXPECT_EQ(reparsed->config.SerializeAsString(), change->config.SerializeAsString());
  EXPECT_EQ(FormatConfigValue(change->config, *FindConfigKey("body")), "\"a\\\"b\\n\"");
  EXPECT_EQ(FormatConfigValue(change->config, *FindConfigKey("max_header_bytes")), "16KiB");
  EXPECT_EQ(FormatConfigValue(change->config, *FindConfigKey("max_body_bytes")), "1000");
  EXPECT_EQ(FormatConfigValue(NodeConfig(), *FindConfigKey("delay")), "");  // unset
}

TEST(RouteKeysTest, UpstreamIsTheOneRouteProxySetup) {
  absl::StatusOr<ConfigChange> change =
      ParseAssignments({"upstream=127.0.0.1:8081,backend:80,[::1]:9000", "delay=0s"});
  ASSERT_TRUE(change.ok()) << change.status();
  std::vector<std::string> paths(change->mask.paths().begin(), change->mask.paths().end());
  EXPECT_THAT(paths, ::testing::ElementsAre("routes", "delay"));
  ASSERT_EQ(change->config.routes_size(), 1);
  const proxynode::v1::Route& route = change->config.routes(0);
  EXPECT_EQ(route.prefix(), "/");
  EXPECT_EQ(route.action(), proxynode::v1::Route::PROXY);
  EXPECT_EQ(route.balancing(), proxynode::v1::Route::ROUND_ROBIN);
  EXPECT_THAT(route.upstreams(),
              ::testing::ElementsAre("127.0.0.1:8081", "backend:80", "[::1]:9000"));

  absl::StatusOr<ConfigChange> cleared = ParseAssignments({"upstream="});
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(cleared->config.routes_size(), 0);
  EXPECT_EQ(cleared->mask.paths(0), "routes");
}

TEST(RouteKeysTest, RoutesTakesProtobufJson) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(
      {R"(routes=[{"prefix":"/api/","action":"PROXY","upstreams":["127.0.0.1:8081"],)"
       R"("delay":"0.2s","delayPercent":10}, {"prefix": "/", "action": "RESPOND",)"
       R"( "connect_timeout": "1s", "balancing": "LEAST_OUTSTANDING"}])"});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->mask.paths_size(), 1);
  EXPECT_EQ(change->mask.paths(0), "routes");
  ASSERT_EQ(change->config.routes_size(), 2);
  const proxynode::v1::Route& api = change->config.routes(0);
  EXPECT_EQ(api.prefix(), "/api/");
  EXPECT_EQ(api.action(), proxynode::v1::Route::PROXY);
  EXPECT_EQ(api.delay().nanos(), 200'000'000);
  EXPECT_EQ(api.delay_percent(), 10u);
  EXPECT_EQ(change->config.routes(1).connect_timeout().seconds(), 1);

  absl::StatusOr<ConfigChange> empty = ParseAssignments({"routes= [ ] "});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->config.routes_size(), 0);
  EXPECT_EQ(empty->mask.paths(0), "routes");
}

TEST(RouteKeysTest, BadRoutesAreOneLineNamingTheArgument) {
  for (const std::string arg :
       {"routes=", "routes={\"prefix\":\"/\"}", "routes=[{\"prefix\":\"/\"", "routes=[1]",
        "routes=[{\"nosuch\":1}]", "routes=[{\"action\":\"PROX\"}]",
        "routes=[{\"delay\":\"soon\"}]", "routes=[], \"workers\": 3"}) {
    EXPECT_THAT(ErrorOf({arg}), StartsWith(arg + ": must be a JSON array of Route objects; "));
  }
  EXPECT_EQ(ErrorOf({"routes={}"}),
            "routes={}: must be a JSON array of Route objects; not a JSON array");
  EXPECT_EQ(ErrorOf({"routes=[], \"workers\": 3"}),
            "routes=[], \"workers\": 3: must be a JSON array of Route objects; text after the "
            "array");
  const ConfigKey& upstream = *FindConfigKey("upstream");
  for (const std::string arg :
       {"upstream=foo", "upstream=a:1,,b:2", "upstream=a:1,", "upstream=:80", "upstream=a:"}) {
    EXPECT_EQ(ErrorOf({arg}), arg + ": must be " + upstream.allowed);
  }
  EXPECT_EQ(ErrorOf({"upstream=a:1", "routes=[]"}),
            "routes=[]: upstream and routes both set routes");
  EXPECT_EQ(ErrorOf({"routes=[]", "routes=[]"}), "routes=[]: routes is given twice");
}

TEST(RouteKeysTest, WhatConfigGetPrintsReadsBack) {
  absl::StatusOr<ConfigChange> change =
      ParseAssignments({R"(routes=[{"prefix":"/api/","action":"proxy","upstreams":["a:1","b:2"],)"
                        R"("balancing":"least_outstanding","delay":"200ms","delay_percent":10,)"
                        R"("connect_timeout":"1m30s"},{"prefix":"/","action":"respond"}])",
                        R"(body="Hello\tWorld\n\x01")"});
  ASSERT_TRUE(change.ok()) << change.status();
  const std::vector<std::string> lines = FormatRoutes(change->config);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "/api/ proxy a:1,b:2 balancing=least_outstanding delay=200ms delay_percent=10 "
            "connect_timeout=90s");
  EXPECT_EQ(change->config.body(), "Hello\tWorld\n\x01");
  // Each printed form, set again, gives the same config: one per line, "; " or "none".
  const std::string body = FormatConfigValue(change->config, *FindConfigKey("body"));
  for (const std::string& routes : {lines[0] + "\n" + lines[1] + "\n",
                                    FormatConfigValue(change->config, *FindConfigKey("routes"))}) {
    absl::StatusOr<ConfigChange> again = ParseAssignments({"routes=" + routes, "body=" + body});
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->config.ShortDebugString(), change->config.ShortDebugString()) << routes;
  }
  absl::StatusOr<ConfigChange> none = ParseAssignments({"routes=none"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->config.routes_size(), 0);
  EXPECT_EQ(ErrorOf({"routes=/x/ proxy a:1 balancng=x"}),
            "routes=/x/ proxy a:1 balancng=x: \"balancng=x\": unknown setting; settings: "
            "balancing, upstream_protocol, tls, tls_ca, tls_cert, tls_key, tls_server_name, delay, "
            "delay_percent, connect_timeout, "
            "first_byte_timeout, total_timeout");
  EXPECT_EQ(ErrorOf({"routes=/x/ forward a:1"}),
            "routes=/x/ forward a:1: \"forward\": the action is respond or proxy");
  EXPECT_EQ(ErrorOf({"routes=/x/ proxy"}),
            "routes=/x/ proxy: \"/x/ proxy\": a proxy route needs its upstreams");
  EXPECT_EQ(ErrorOf({R"(body="a\q")"}), R"(body="a\q": must be any text (at most 1MiB))");
}

TEST(RouteKeysTest, UpstreamProtocolIsSetShownAndRefusedByName) {
  absl::StatusOr<ConfigChange> change =
      ParseAssignments({"routes=/grpc/ proxy a:1 upstream_protocol=h2c; /web/ proxy b:2"});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->config.routes(0).upstream_protocol(), proxynode::v1::Route::H2C);
  EXPECT_EQ(change->config.routes(1).upstream_protocol(),
            proxynode::v1::Route::UPSTREAM_PROTOCOL_UNSPECIFIED);
  EXPECT_THAT(FormatRoutes(change->config),
              ::testing::ElementsAre("/grpc/ proxy a:1 upstream_protocol=h2c", "/web/ proxy b:2"));
  absl::StatusOr<ConfigChange> json = ParseAssignments(
      {R"(routes=[{"prefix":"/g/","action":"proxy","upstreams":["a:1"],"upstreamProtocol":"h2c"}])"});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->config.routes(0).upstream_protocol(), proxynode::v1::Route::H2C);
  EXPECT_EQ(ErrorOf({"routes=/x/ proxy a:1 upstream_protocol=h3"}),
            "routes=/x/ proxy a:1 upstream_protocol=h3: \"upstream_protocol=h3\": "
            "upstream_protocol is http1, h2c or h2");
}

TEST(RouteKeysTest, UpstreamTlsSettingsAreSetAndShown) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(
      {"routes=/g/ proxy a:443 upstream_protocol=h2 tls_ca=/ca.pem tls_cert=/c.pem "
       "tls_key=/c.key tls_server_name=g.internal; /w/ proxy b:443 tls=on; /p/ proxy c:80"});
  ASSERT_TRUE(change.ok()) << change.status();
  const proxynode::v1::Route& grpc = change->config.routes(0);
  EXPECT_EQ(grpc.upstream_protocol(), proxynode::v1::Route::H2);
  EXPECT_EQ(grpc.upstream_tls().ca_file(), "/ca.pem");
  EXPECT_EQ(grpc.upstream_tls().server_name(), "g.internal");
  EXPECT_TRUE(change->config.routes(1).has_upstream_tls());
  EXPECT_FALSE(change->config.routes(2).has_upstream_tls());
  EXPECT_THAT(FormatRoutes(change->config),
              ::testing::ElementsAre("/g/ proxy a:443 upstream_protocol=h2 "
                                     "tls_server_name=g.internal tls_ca=/ca.pem tls_cert=/c.pem "
                                     "tls_key=/c.key",
                                     "/w/ proxy b:443 tls=on", "/p/ proxy c:80"));
  EXPECT_EQ(ErrorOf({"routes=/x/ proxy a:1 tls=yes"}),
            "routes=/x/ proxy a:1 tls=yes: \"tls=yes\": tls is on (or give tls_ca, tls_cert, "
            "tls_key, tls_server_name)");
}

TEST(RouteKeysTest, RoutesShowOnePerLine) {
  absl::StatusOr<ConfigChange> change = ParseAssignments(
      {R"(routes=[{"prefix":"/api/","action":"PROXY","upstreams":["a:1","b:2"],)"
       R"("balancing":"ROUND_ROBIN","delay":"0.2s","delayPercent":10,"connectTimeout":"2s",)"
       R"("firstByteTimeout":"30s","totalTimeout":"300s"},)"
       R"({"prefix":"/static/","action":"RESPOND","delay":"0s","delayPercent":100,)"
       R"("balancing":"ROUND_ROBIN","connectTimeout":"2s"}])"});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_THAT(FormatRoutes(change->config),
              ::testing::ElementsAre("/api/ proxy a:1,b:2 balancing=round_robin delay=200ms "
                                     "delay_percent=10 connect_timeout=2s first_byte_timeout=30s "
                                     "total_timeout=5m",
                                     "/static/ respond delay=0s"));
  EXPECT_EQ(FormatConfigValue(change->config, *FindConfigKey("routes")),
            FormatRoutes(change->config)[0] + "; " + FormatRoutes(change->config)[1]);
  EXPECT_EQ(FormatConfigValue(NodeConfig(), *FindConfigKey("routes")), "none");
}

TEST(ConfigFileTest, TextFormatSetsTheFieldsItHas) {
  absl::StatusOr<ConfigChange> change =
      ParseConfigText("# comment\ndelay { nanos: 250000000 }\nworkers: 4\nversion: 9\n");
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->config.delay().nanos(), 250'000'000);
  EXPECT_EQ(change->config.workers(), 4u);
  std::vector<std::string> paths(change->mask.paths().begin(), change->mask.paths().end());
  EXPECT_THAT(paths, ::testing::ElementsAre("delay", "workers"));  // version left out
}

TEST(ConfigFileTest, JsonSetsTheFieldsItHas) {
  absl::StatusOr<ConfigChange> change = ParseConfigText(
      "  {\"max_body_bytes\": \"65536\", \"idleTimeout\": \"30s\", \"body\": \"\"}");
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->config.max_body_bytes(), 65536u);
  EXPECT_EQ(change->config.idle_timeout().seconds(), 30);
  std::vector<std::string> paths(change->mask.paths().begin(), change->mask.paths().end());
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre("body", "idle_timeout", "max_body_bytes"));
}

TEST(ConfigFileTest, RoutesInTextAndJson) {
  absl::StatusOr<ConfigChange> text =
      ParseConfigText("routes { prefix: \"/api/\" action: PROXY upstreams: \"127.0.0.1:8081\" }\n");
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<ConfigChange> json = ParseConfigText(
      R"({"routes": [{"prefix": "/api/", "action": "PROXY", "upstreams": ["127.0.0.1:8081"]}]})");
  ASSERT_TRUE(json.ok()) << json.status();
  for (const ConfigChange& change : {*text, *json}) {
    EXPECT_EQ(change.mask.paths_size(), 1);
    EXPECT_EQ(change.mask.paths(0), "routes");
    ASSERT_EQ(change.config.routes_size(), 1);
    EXPECT_EQ(FormatRoutes(change.config)[0], "/api/ proxy 127.0.0.1:8081");
  }
}

TEST(ConfigFileTest, ErrorsAreOneLine) {
  for (const char* text :
       {"workers: abc\n", "nosuch: 1\nalso: 2\n", "{\"nosuch\": 1}", "{", "version: 3\n", ""}) {
    absl::StatusOr<ConfigChange> change = ParseConfigText(text);
    ASSERT_FALSE(change.ok()) << text;
    std::string message(change.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_THAT(std::string(ParseConfigText("workers: abc\n").status().message()),
              HasSubstr("line 1"));
  EXPECT_THAT(std::string(ParseConfigText("").status().message()), StartsWith("sets no field"));
}

// tcp_proxies (issue 19): the whole list as one line of JSON, read back as printed; "none"
// clears it; anything else is refused naming the assignment.
TEST(ConfigKeysTest, TcpProxiesRoundTripAsJson) {
  const std::string value =
      "[{\"name\":\"redis\",\"listen\":\"127.0.0.1:16379\",\"upstream\":\"127.0.0.1:6379\","
      "\"toxics\":[{\"name\":\"lag\",\"toxicity\":0.5,\"latency\":{\"latency\":\"0.250s\"}}],"
      "\"connectTimeout\":\"2s\"}]";
  absl::StatusOr<ConfigChange> change = ParseAssignments({"tcp_proxies=" + value});
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_THAT(change->mask.paths(), ::testing::ElementsAre("tcp_proxies"));
  ASSERT_EQ(change->config.tcp_proxies_size(), 1);
  EXPECT_EQ(change->config.tcp_proxies(0).toxics(0).latency().latency().nanos(), 250'000'000);
  const std::string printed = FormatConfigValue(change->config, *FindConfigKey("tcp_proxies"));
  EXPECT_EQ(printed,
            "[{\"name\":\"redis\",\"listen\":\"127.0.0.1:16379\",\"upstream\":\"127.0.0.1:6379\","
            "\"toxics\":[{\"name\":\"lag\",\"toxicity\":0.5,\"latency\":{\"latency\":\"0.250s\"}}],"
            "\"connect_timeout\":\"2s\"}]");
  absl::StatusOr<ConfigChange> again = ParseAssignments({"tcp_proxies=" + printed});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->config.SerializeAsString(), change->config.SerializeAsString());

  absl::StatusOr<ConfigChange> none = ParseAssignments({"tcp_proxies=none"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->config.tcp_proxies_size(), 0);
  EXPECT_EQ(FormatConfigValue(none->config, *FindConfigKey("tcp_proxies")), "none");
  absl::StatusOr<ConfigChange> bad = ParseAssignments({"tcp_proxies=redis"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::StartsWith("tcp_proxies=redis: must be a JSON "
                                    "array of TCP proxies"));
}

}  // namespace
}  // namespace proxyctl
