// Tables, JSON helpers, human formatting of figures, and the rates of the stats view.

#include "cli/printer.h"

#include "cli/stats_view.h"
#include "cli/units.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using ::testing::HasSubstr;

TEST(TableTest, PadsColumnsToTheWidestCell) {
  Table table({"ADDR", "VERSION", "UPTIME"});
  table.AddRow({"127.0.0.1:9090", "3", "2m14s"});
  table.AddRow({"[fd00::1]:9090", "12", "5s"});
  EXPECT_EQ(table.Render(),
            "ADDR             VERSION   UPTIME\n"
            "127.0.0.1:9090   3         2m14s\n"
            "[fd00::1]:9090   12        5s\n");
}

TEST(TableTest, HeaderWiderThanCellsAndNoTrailingBlanks) {
  Table table({"A", "LONG_HEADER", "B"});
  table.AddRow({"x", "1", ""});
  std::string rendered = table.Render();
  EXPECT_EQ(rendered, "A   LONG_HEADER   B\nx   1\n");
  Table last({"KEY", "VALUE"});
  last.AddRow({"delay", "250ms"});
  last.AddRow({"body", "\"a very long value\""});
  EXPECT_EQ(last.Render(),
            "KEY     VALUE\n"
            "delay   250ms\n"
            "body    \"a very long value\"\n");
}

TEST(TableTest, SpanningLastCellDoesNotWidenItsColumn) {
  Table table({"ADDR", "STATUS", "VERSION"});
  table.AddRow({"10.0.0.1:9090", "serving", "3"});
  table.AddRow({"10.0.0.2:9090", "error: cannot reach 10.0.0.2:9090: connection refused"});
  EXPECT_EQ(table.Render(),
            "ADDR            STATUS    VERSION\n"
            "10.0.0.1:9090   serving   3\n"
            "10.0.0.2:9090   error: cannot reach 10.0.0.2:9090: connection refused\n");
}

TEST(TableTest, CountsCharactersNotBytes) {
  Table table({"N", "X"});
  table.AddRow({"\xC2\xB5s", "1"});  // "µs": two characters, three bytes
  table.AddRow({"abc", "2"});
  EXPECT_EQ(table.Render(), "N     X\n\xC2\xB5s    1\nabc   2\n");
}

TEST(TableTest, HeadersOnly) { EXPECT_EQ(Table({"ID", "PEER"}).Render(), "ID   PEER\n"); }

TEST(JsonTest, StringsAreEscaped) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\u000ad\\u0001\"");
  EXPECT_EQ(JsonObject({{"a", "1"}, {"b", JsonString("x")}, {"c", "null"}}),
            "{\"a\":1,\"b\":\"x\",\"c\":null}");
  EXPECT_EQ(JsonObject({}), "{}");
  EXPECT_EQ(JsonNumber(1520.4), "1520.4");
  EXPECT_EQ(JsonNumber(3), "3");
  EXPECT_EQ(JsonNumber(0.0 / 0.0), "null");
}

TEST(JsonTest, ProtoFieldNamesAndZeros) {
  proxynode::v1::Connection connection;
  connection.set_bytes_in(0);
  connection.set_peer("1.2.3.4:5");
  std::string json = ToJson(connection);
  EXPECT_THAT(json, HasSubstr("\"bytes_in\":\"0\""));  // proto name, printed though zero
  EXPECT_THAT(json, HasSubstr("\"peer\":\"1.2.3.4:5\""));
  EXPECT_THAT(json, HasSubstr("\"worker\":0"));
}

TEST(FormatTest, ApproximateDurations) {
  EXPECT_EQ(FormatDurationApprox(850), "850ns");
  EXPECT_EQ(FormatDurationApprox(12'345), "12.35us");
  EXPECT_EQ(FormatDurationApprox(1'234'567), "1.235ms");
  EXPECT_EQ(FormatDurationApprox(101'200'000), "101.2ms");
  EXPECT_EQ(FormatDurationApprox(250'000'000), "250ms");
  EXPECT_EQ(FormatDurationApprox(12'500'000'000), "12.5s");
  EXPECT_EQ(FormatDurationApprox(123'000'000'000), "2m3s");
  EXPECT_EQ(FormatDurationApprox(3'723'000'000'000), "1h2m");
}

TEST(FormatTest, UptimeBytesRatesSizes) {
  constexpr int64_t kS = 1'000'000'000;
  EXPECT_EQ(FormatUptime(45 * kS + 999), "45s");
  EXPECT_EQ(FormatUptime(725 * kS), "12m5s");
  EXPECT_EQ(FormatUptime(11'520 * kS), "3h12m");
  EXPECT_EQ(FormatUptime(183'600 * kS), "2d3h");
  EXPECT_EQ(FormatBytes(512), "512B");
  EXPECT_EQ(FormatBytes(1536), "1.5KiB");
  EXPECT_EQ(FormatBytes(1 << 20), "1MiB");
  EXPECT_EQ(FormatRate(1520.44), "1520.4");
  EXPECT_EQ(FormatRate(-1), "-");
  EXPECT_EQ(FormatSizeExact(8192), "8KiB");
  EXPECT_EQ(FormatSizeExact(1 << 20), "1MiB");
  EXPECT_EQ(FormatSizeExact(1000), "1000");
  EXPECT_EQ(FormatSizeExact(0), "0");
}

proxynode::v1::Stats StatsAt(int64_t uptime_ms, uint64_t requests) {
  proxynode::v1::Stats stats;
  stats.mutable_uptime()->set_seconds(uptime_ms / 1000);
  stats.mutable_uptime()->set_nanos(static_cast<int32_t>(uptime_ms % 1000 * 1'000'000));
  stats.mutable_total()->set_requests(requests);
  stats.mutable_total()->set_connections_accepted(requests / 10);
  auto* worker = stats.add_per_worker();
  worker->set_index(0);
  worker->mutable_counters()->set_requests(requests);
  stats.mutable_request_latency()->set_count(requests);
  return stats;
}

TEST(StatsViewTest, RatesComeFromUptimes) {
  proxynode::v1::Stats before = StatsAt(10'000, 1000);
  proxynode::v1::Stats after = StatsAt(10'500, 1600);
  FillRates(before, after);
  EXPECT_DOUBLE_EQ(after.requests_per_second(), 1200);
  EXPECT_DOUBLE_EQ(after.accepts_per_second(), 120);
  // A restart (uptime went back) or counters going back: unknown, not negative.
  EXPECT_EQ(SecondsBetween(after, before), std::nullopt);
  EXPECT_EQ(Rate(10, 5, 1.0), -1);
  EXPECT_EQ(Rate(5, 10, std::nullopt), -1);
}

TEST(StatsViewTest, RendersEverySection) {
  proxynode::v1::Stats before = StatsAt(10'000, 1000);
  proxynode::v1::Stats after = StatsAt(10'500, 1600);
  std::string view = RenderStats(after, &before, {"127.0.0.1:9090", false});
  EXPECT_THAT(view, HasSubstr("node 127.0.0.1:9090   serving"));
  EXPECT_THAT(view, ::testing::ContainsRegex("\nrequests +1600 +1200.0\n"));
  EXPECT_THAT(view, HasSubstr("LATENCY"));
  EXPECT_THAT(view, HasSubstr("WORKER"));
  // Without a previous sample the rates are unknown; zero counters hidden on request.
  std::string first = RenderStats(after, nullptr, {"n", true});
  EXPECT_THAT(first, ::testing::ContainsRegex("\nrequests +1600 +-\n"));
  EXPECT_THAT(first, ::testing::Not(HasSubstr("responses_5xx")));
}

// A proxying node's sample: one upstream with errors, one without; one route.
proxynode::v1::Stats ProxyStatsAt(int64_t uptime_ms, uint64_t requests) {
  proxynode::v1::Stats stats = StatsAt(uptime_ms, requests);
  auto* busy = stats.add_upstreams();
  busy->set_address("127.0.0.1:8081");
  busy->set_requests(requests);
  busy->set_connects(3);
  busy->set_reused(requests - 3);
  (*busy->mutable_errors())["connect_failed"] = 0;
  (*busy->mutable_errors())["first_byte_timeout"] = 1;
  (*busy->mutable_errors())["broken"] = 2;
  busy->set_open_connections(3);
  busy->set_idle_connections(2);
  busy->set_outstanding(1);
  busy->mutable_latency()->set_count(requests);
  busy->mutable_latency()->mutable_p50()->set_nanos(2'500'000);
  busy->mutable_latency()->mutable_p99()->set_nanos(40'000'000);
  auto* quiet = stats.add_upstreams();
  quiet->set_address("127.0.0.1:8082");
  (*quiet->mutable_errors())["broken"] = 0;
  auto* route = stats.add_routes();
  route->set_prefix("/api/");
  route->set_requests(requests);
  route->set_delayed(requests / 2);
  route->set_errors(3);
  route->mutable_latency()->set_count(requests);
  route->mutable_latency()->mutable_p50()->set_nanos(101'000'000);
  route->mutable_latency()->mutable_p99()->set_nanos(140'000'000);
  return stats;
}

TEST(StatsViewTest, UpstreamAndRouteTables) {
  proxynode::v1::Stats before = ProxyStatsAt(10'000, 1000);
  proxynode::v1::Stats after = ProxyStatsAt(10'500, 1600);
  std::string view = RenderStats(after, &before, {"n", false});
  EXPECT_THAT(view, HasSubstr("\nUPSTREAM         REQUESTS   REQ/S    CONNECTS   REUSED   OPEN   "
                              "IDLE   OUTSTANDING   P50     P99    ERRORS   BY_REASON\n"));
  EXPECT_THAT(view, HasSubstr("\n127.0.0.1:8081   1600       1200.0   3          1597     3      "
                              "2      1             2.5ms   40ms   3        "
                              "broken=2 first_byte_timeout=1\n"));
  // No errors: "-" for the reasons, and "-" for percentiles of an upstream never used.
  EXPECT_THAT(view, ::testing::ContainsRegex("\n127\\.0\\.0\\.1:8082 +0 +0\\.0 +0 +0 +0 +0 +0 "
                                             "+- +- +0 +-\n"));
  EXPECT_THAT(view, HasSubstr("\nROUTE   REQUESTS   REQ/S    DELAYED   ERRORS   P50     P99\n"
                              "/api/   1600       1200.0   800       3        101ms   140ms\n"));
}

TEST(StatsViewTest, RoutesThatCarriedGrpcShowCallsByStatus) {
  proxynode::v1::Stats stats = ProxyStatsAt(10'500, 1600);
  auto* grpc = stats.add_routes();
  grpc->set_prefix("/svc/");
  grpc->set_requests(5);
  (*grpc->mutable_grpc_status())["UNAVAILABLE"] = 1;
  (*grpc->mutable_grpc_status())["OK"] = 4;
  std::string view = RenderStats(stats, nullptr, {"n", false});
  EXPECT_THAT(view, ::testing::ContainsRegex("\nROUTE +REQUESTS +REQ/S +DELAYED +ERRORS +P50 +P99 "
                                             "+GRPC\n"));
  EXPECT_THAT(view, ::testing::ContainsRegex("\n/svc/ +5 .* OK=4 UNAVAILABLE=1\n"));
  EXPECT_THAT(view, ::testing::ContainsRegex("\n/api/ +1600 .* 140ms +-\n"));
}

TEST(StatsViewTest, NoProxyTablesForANodeThatDoesNotProxy) {
  std::string view = RenderStats(StatsAt(10'500, 1600), nullptr, {"n", false});
  EXPECT_THAT(view, ::testing::Not(HasSubstr("UPSTREAM")));
  EXPECT_THAT(view, ::testing::Not(HasSubstr("ROUTE")));
}

TEST(StatsViewTest, UpstreamRatesWithoutAPreviousSampleOrAfterANewUpstream) {
  proxynode::v1::Stats before = StatsAt(10'000, 1000);  // no upstream yet
  proxynode::v1::Stats after = ProxyStatsAt(10'500, 1600);
  // A key new since the previous sample started from zero.
  EXPECT_THAT(RenderStats(after, &before, {"n", false}),
              ::testing::ContainsRegex("\n127\\.0\\.0\\.1:8081 +1600 +3200\\.0 "));
  EXPECT_THAT(RenderStats(after, nullptr, {"n", false}),
              ::testing::ContainsRegex("\n/api/ +1600 +- +800 "));
}

TEST(StatsViewTest, FaultRuleTableWithFiredRateAndAbortsSummed) {
  proxynode::v1::Stats before = StatsAt(10'000, 1000);
  proxynode::v1::Stats after = StatsAt(10'500, 1600);
  for (auto [stats, fired] : {std::pair{&before, 100}, std::pair{&after, 400}}) {
    auto* rule = stats->add_faults();
    rule->set_name("slow-api");
    rule->set_matched(static_cast<uint64_t>(fired) * 4);
    rule->set_fired(static_cast<uint64_t>(fired));
    rule->set_delayed(static_cast<uint64_t>(fired) - 10);
    (*rule->mutable_aborted())["status"] = 7;
    (*rule->mutable_aborted())["reset"] = 3;
    rule->set_overflowed(2);
    rule->mutable_injected_delay()->set_count(static_cast<uint64_t>(fired));
    rule->mutable_injected_delay()->mutable_p50()->set_nanos(40'000'000);
    rule->mutable_injected_delay()->mutable_p99()->set_nanos(900'000'000);
  }
  std::string view = RenderStats(after, &before, {"n", false});
  EXPECT_THAT(view, ::testing::ContainsRegex("\nFAULT +MATCHED +FIRED +FIRED/S +DELAYED +ABORTED "
                                             "+THROTTLED +OVERFLOWED +DELAY_P50 +DELAY_P99\n"));
  // 300 more fired over 0.5 s of uptime.
  EXPECT_THAT(view, ::testing::ContainsRegex(
                        "\nslow-api +1600 +400 +600\\.0 +390 +10 +0 +2 +40ms +900ms\n"));
  EXPECT_THAT(RenderStats(StatsAt(10'500, 1600), nullptr, {"n", false}),
              ::testing::Not(HasSubstr("FAULT")));
}

TEST(StatsViewTest, JsonCarriesUpstreamsAndRoutes) {
  std::string json = ToJson(ProxyStatsAt(10'500, 1600));
  EXPECT_THAT(json, HasSubstr("\"upstreams\":[{\"address\":\"127.0.0.1:8081\""));
  EXPECT_THAT(json, HasSubstr("\"first_byte_timeout\":\"1\""));
  EXPECT_THAT(json, HasSubstr("\"routes\":[{\"prefix\":\"/api/\""));
}

}  // namespace
}  // namespace proxyctl
