// The real proxyctl binary against real nodes (NodeProcess): every command in table and
// JSON form, each exit code, one-line errors, --all over two nodes, PROXYCTL_ADDR, top,
// drain and the bash completion script.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/json_check.h"
#include "tests/cli/proxyctl_runner.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The JSON check itself: it must refuse what is not JSON, or the tests below prove nothing.
TEST(JsonCheckTest, AcceptsJsonAndRefusesTheRest) {
  std::optional<Json> value = ParseJsonText(R"( {"a": [1, -2.5e3, true, false, null, "x\n"]} )");
  ASSERT_TRUE(value);
  const Json& a = value->members.at("a");
  ASSERT_EQ(a.items.size(), 6u);
  EXPECT_EQ(a.items[1].number, -2500);
  EXPECT_TRUE(a.items[2].boolean);
  EXPECT_FALSE(a.items[3].boolean);
  EXPECT_TRUE(a.items[4].is_null());
  EXPECT_EQ(a.items[5].text, "x\n");
  for (const char* bad : {"", "{\"a\":1,}", "{a:1}", "[1 2]", "\"\x01\"", "01", "{\"a\":1}{", "nan",
                          "{\"a\":1,\"a\":2}", "[1,]", "\"\\q\""}) {
    EXPECT_FALSE(ParseJsonText(bad)) << bad;
  }
}

class ProxyctlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.Start({"--workers=2", "--delay=0s"})); }
  NodeProcess node_;
};

TEST_F(ProxyctlTest, StatusTableAndJson) {
  Result table = RunOn(node_, {"status"});
  ASSERT_EQ(table.code, 0) << table;
  EXPECT_THAT(table.out, StartsWith("ADDR "));
  EXPECT_THAT(table.out, ::testing::ContainsRegex(
                             "STATUS +VERSION +NODE_VERSION +UPTIME +WORKERS +CONNECTIONS +REQ/S"));
  // The node's build beside its config version: "0.1.0+1a2b3c4d5e6f".
  EXPECT_THAT(table.out,
              ::testing::ContainsRegex(Addr(node_) + " +serving +1 +[0-9]+\\.[0-9]+\\.[0-9]+\\+"
                                                     "[0-9a-z-]+ +[0-9]+s +2 +0 +"));
  EXPECT_EQ(table.err, "");

  Result json = RunOn(node_, {"status", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Field(*parsed, "addr").text, Addr(node_));
  EXPECT_EQ(Field(*parsed, "status").text, "serving");
  EXPECT_EQ(Number(Field(*parsed, "config_version")), 1);
  EXPECT_THAT(Field(*parsed, "node_version").text,
              ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_FALSE(Field(*parsed, "commit").text.empty());
  EXPECT_FALSE(Field(*parsed, "build_type").text.empty());
  EXPECT_EQ(Number(Field(*parsed, "workers")), 2);
  EXPECT_GE(Number(Field(*parsed, "requests_per_second")), 0);
}

TEST_F(ProxyctlTest, ConfigSetThenGetShowsTheValues) {
  Result set = RunOn(node_, {"config", "set", "--yes", "delay=250ms", "workers=3"});
  ASSERT_EQ(set.code, 0) << set;
  EXPECT_THAT(set.out, ::testing::MatchesRegex("applied on " + Addr(node_) +
                                               ": config version 2 in [0-9.]+[mu]?s\n"
                                               "  delay: 0s -> 250ms\n"
                                               "  workers: 2 -> 3\n"));

  Result get = RunOn(node_, {"config", "get"});
  ASSERT_EQ(get.code, 0) << get;
  EXPECT_THAT(get.out, StartsWith("KEY "));
  EXPECT_THAT(get.out, ::testing::ContainsRegex("\nversion +2\n"));
  EXPECT_THAT(get.out, ::testing::ContainsRegex("\ndelay +250ms\n"));
  EXPECT_THAT(get.out, ::testing::ContainsRegex("\nworkers +3\n"));
  EXPECT_THAT(get.out, ::testing::ContainsRegex("\nmax_header_bytes +8KiB\n"));

  Result json = RunOn(node_, {"config", "get", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Field(*parsed, "delay").text, "0.250s");
  EXPECT_EQ(Number(Field(*parsed, "workers")), 3);
  EXPECT_EQ(Number(Field(*parsed, "version")), 2);
  EXPECT_EQ(parsed->members.size(), 17u);  // every field, proto names

  Result one = RunOn(node_, {"config", "get", "delay"});
  ASSERT_EQ(one.code, 0) << one;
  EXPECT_EQ(one.out, "250ms\n");
  Result one_json = RunOn(node_, {"config", "get", "workers", "-o", "json"});
  ASSERT_EQ(one_json.code, 0) << one_json;
  parsed = ParseJson(one_json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(*parsed, "workers")), 3);
  EXPECT_EQ(parsed->members.size(), 2u);  // version and workers

  Result set_json = RunOn(node_, {"config", "set", "max_body_bytes=64KiB", "-o", "json"});
  ASSERT_EQ(set_json.code, 0) << set_json;
  parsed = ParseJson(set_json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(Field(*parsed, "config"), "max_body_bytes")), 65536);
  EXPECT_EQ(Number(Field(Field(*parsed, "config"), "version")), 3);
  EXPECT_TRUE(Field(*parsed, "apply_time").is_string());
}

TEST_F(ProxyctlTest, RoutesAndUpstreamSetThenShowOneLinePerRoute) {
  const std::string api_line =
      "/api/ proxy 127.0.0.1:1 balancing=round_robin delay=200ms delay_percent=10 "
      "connect_timeout=2s first_byte_timeout=30s total_timeout=5m";
  Result set = RunOn(node_, {"config", "set",
                             R"(routes=[{"prefix":"/api/","action":"PROXY",)"
                             R"("upstreams":["127.0.0.1:1"],"delay":"0.2s","delayPercent":10},)"
                             R"({"prefix":"/","action":"RESPOND"}])"});
  ASSERT_EQ(set.code, 0) << set;
  EXPECT_THAT(set.out, HasSubstr("config version 2 in "));
  EXPECT_THAT(set.out, HasSubstr("\n  + routes[/api/]: {prefix: \"/api/\", action: PROXY, "
                                 "upstreams: [\"127.0.0.1:1\"], balancing: ROUND_ROBIN, delay: "
                                 "200ms, delay_percent: 10,"));
  EXPECT_THAT(set.out, HasSubstr("\n  + routes[/]: {prefix: \"/\", action: RESPOND,"));

  Result get = RunOn(node_, {"config", "get"});
  ASSERT_EQ(get.code, 0) << get;
  EXPECT_THAT(get.out, HasSubstr("\nroutes                        " + api_line +
                                 "\n                              / respond\n"));
  EXPECT_EQ(RunOn(node_, {"config", "get", "routes"}).out, api_line + "\n/ respond\n");
  Result json = RunOn(node_, {"config", "get", "routes", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(Field(*parsed, "routes").items.size(), 2u);
  EXPECT_EQ(Field(Field(*parsed, "routes").items[0], "delay_percent").number, 10);
  EXPECT_EQ(parsed->members.size(), 2u);  // version and routes

  Result upstream = RunOn(node_, {"config", "set", "upstream=127.0.0.1:2,localhost:3"});
  ASSERT_EQ(upstream.code, 0) << upstream;
  EXPECT_EQ(RunOn(node_, {"config", "get", "upstream"}).out,
            "/ proxy 127.0.0.1:2,localhost:3 balancing=round_robin connect_timeout=2s "
            "first_byte_timeout=30s total_timeout=5m\n");

  // Refused by the node, whole: the version does not move.
  for (const std::string& arg :
       {std::string("upstream=nohost.invalid:80"), std::string("upstream=a:1,a:1"),
        std::string(R"(routes=[{"prefix":"/"}])")}) {
    Result refused = RunOn(node_, {"config", "set", arg});
    EXPECT_EQ(refused.code, 1) << refused;
    EXPECT_EQ(Lines(refused.err), 1u) << refused;
    EXPECT_THAT(refused.err, HasSubstr("INVALID_ARGUMENT: routes[0].")) << refused;
  }
  EXPECT_EQ(RunOn(node_, {"config", "get", "version"}).out, "3\n");

  Result cleared = RunOn(node_, {"config", "set", "upstream="});
  ASSERT_EQ(cleared.code, 0) << cleared;
  EXPECT_THAT(cleared.out, HasSubstr("\n  - routes[/]: {prefix: \"/\", action: PROXY,"));
  EXPECT_EQ(RunOn(node_, {"config", "get", "routes"}).out, "none\n");
  parsed = ParseJson(RunOn(node_, {"config", "get", "routes", "-o", "json"}).out);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(Field(*parsed, "routes").items.empty());
  parsed = ParseJson(RunOn(node_, {"config", "get", "version", "-o", "json"}).out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->members.size(), 1u);  // no empty routes list beside the version
}

TEST_F(ProxyctlTest, ConfigApplyTextAndJsonFiles) {
  std::string dir = ::testing::TempDir();
  std::string text_path = dir + "/proxyctl_apply.textproto";
  std::string json_path = dir + "/proxyctl_apply.json";
  std::string bad_path = dir + "/proxyctl_apply_bad.textproto";
  std::ofstream(text_path)
      << "# a comment\nversion: 99\ndelay { nanos: 5000000 }\nrate_limit: 700\n";
  std::ofstream(json_path) << "{\"max_pending\": 12, \"idle_timeout\": \"30s\"}\n";
  std::ofstream(bad_path) << "workers: many\n";

  Result text = RunOn(node_, {"config", "apply", "-f", text_path});
  ASSERT_EQ(text.code, 0) << text;
  EXPECT_THAT(text.out, HasSubstr("config version 2"));
  EXPECT_THAT(text.out, HasSubstr("\n  delay: 0s -> 5ms\n  rate_limit: 0 -> 700\n"));
  // --merge: the fields the file has, the others kept.
  Result json =
      RunOn(node_, {"config", "apply", "--merge", "--file", json_path, "--expected-version", "2"});
  ASSERT_EQ(json.code, 0) << json;
  EXPECT_THAT(json.out, HasSubstr("config version 3"));

  Result get = RunOn(node_, {"config", "get", "-o", "json"});
  std::optional<Json> parsed = ParseJson(get.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Field(*parsed, "delay").text, "0.005s");
  EXPECT_EQ(Number(Field(*parsed, "rate_limit")), 700);
  EXPECT_EQ(Number(Field(*parsed, "max_pending")), 12);
  EXPECT_EQ(Field(*parsed, "idle_timeout").text, "30s");
  EXPECT_EQ(Number(Field(*parsed, "workers")), 2);  // not in either file: kept

  // Without --merge the file is the whole config: what it leaves out returns to the default.
  Result diff = RunOn(node_, {"config", "diff", "-f", json_path});
  ASSERT_EQ(diff.code, 0) << diff;
  EXPECT_EQ(diff.out, "  delay: 5ms -> 0s\n  rate_limit: 700 -> 0\n");
  Result declared = RunOn(node_, {"config", "apply", "-f", json_path, "--dry-run"});
  ASSERT_EQ(declared.code, 0) << declared;
  EXPECT_EQ(declared.out,
            "dry run on " + Addr(node_) + ": at config version 3 this would change:\n" + diff.out);
  EXPECT_EQ(RunOn(node_, {"config", "get", "version"}).out, "3\n");

  // What `config get -o json` saves applies back as it is (its version is ignored).
  std::string saved_path = dir + "/proxyctl_saved.json";
  std::ofstream(saved_path) << get.out;
  ASSERT_EQ(RunOn(node_, {"config", "set", "delay=1s", "rate_limit=0"}).code, 0);
  Result restore = RunOn(node_, {"config", "apply", "-f", saved_path});
  ASSERT_EQ(restore.code, 0) << restore;
  EXPECT_EQ(RunOn(node_, {"config", "get", "delay"}).out, "5ms\n");
  EXPECT_EQ(RunOn(node_, {"config", "get", "rate_limit"}).out, "700\n");

  Result bad = RunOn(node_, {"config", "apply", "-f", bad_path});
  EXPECT_EQ(bad.code, 2) << bad;
  EXPECT_EQ(Lines(bad.err), 1u) << bad;
  EXPECT_THAT(bad.err, HasSubstr(bad_path + ": text format: line 1"));
  Result missing = RunOn(node_, {"config", "apply", "-f", dir + "/no/such/file"});
  EXPECT_EQ(missing.code, 2) << missing;
  EXPECT_THAT(missing.err, HasSubstr("cannot read it"));
}

TEST_F(ProxyctlTest, StatsTableAndJson) {
  HttpClient client = ConnectTo(node_.http_port());
  ASSERT_TRUE(client.RoundTrip(GetRequest()));
  Result table = RunOn(node_, {"stats"});
  ASSERT_EQ(table.code, 0) << table;
  EXPECT_THAT(table.out, StartsWith("node " + Addr(node_) + "   serving   config version 1"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nrequests +1 +[0-9.]+\n"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nconnections_active +1\n"));
  EXPECT_THAT(table.out,
              ::testing::ContainsRegex("\nLATENCY +OVER +COUNT +P50 +P90 +P99 +P99.9\n"));
  // The sample's interval beside the figures since start.
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nrequest +last [0-9.]+m?s +0 +- "));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nrequest +since start +1 +"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nbytes_in +[0-9]+B +"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\nWORKER +CONNECTIONS"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("\n1 +[01] +"));  // second worker's row

  Result json = RunOn(node_, {"stats", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(Field(*parsed, "total"), "requests")), 1);
  EXPECT_EQ(Field(*parsed, "per_worker").items.size(), 2u);
  EXPECT_TRUE(Field(Field(*parsed, "request_latency"), "p99").is_string());
  Field(*parsed, "requests_per_second");  // present
}

TEST_F(ProxyctlTest, ConnectionsSortLimitAndJson) {
  HttpClient first = ConnectTo(node_.http_port());
  HttpClient second = ConnectTo(node_.http_port());
  ASSERT_TRUE(first.RoundTrip(GetRequest()));
  ASSERT_TRUE(second.RoundTrip(GetRequest()));
  ASSERT_TRUE(second.RoundTrip(GetRequest()));

  Result all = RunOn(node_, {"connections"});
  ASSERT_EQ(all.code, 0) << all;
  EXPECT_THAT(all.out, ::testing::ContainsRegex(
                           "^ID +PEER +WORKER +AGE +REQUESTS +STATE +BYTES_IN +BYTES_OUT\n"));
  EXPECT_EQ(Lines(all.out), 4u) << all;  // header, two rows, footer
  EXPECT_THAT(all.out, HasSubstr("\n2 open connections\n"));

  Result busiest = RunOn(node_, {"connections", "--sort", "requests", "--limit", "1"});
  ASSERT_EQ(busiest.code, 0) << busiest;
  EXPECT_THAT(busiest.out,
              ::testing::ContainsRegex("\n[0-9]+ +127.0.0.1:[0-9]+ +[01] +[0-9.]+m?s +2 +"));
  EXPECT_THAT(busiest.out, HasSubstr("\n1 of 2 open connections shown\n"));

  Result json = RunOn(node_, {"connections", "-o", "json", "--sort", "requests"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(*parsed, "total")), 2);
  const auto& rows = Field(*parsed, "connections").items;
  ASSERT_EQ(rows.size(), 2);
  EXPECT_EQ(Number(Field(rows[0], "requests")), 2);
  EXPECT_EQ(Number(Field(rows[1], "requests")), 1);
  EXPECT_THAT(Field(rows[0], "peer").text, StartsWith("127.0.0.1:"));

  Result bad_sort = RunOn(node_, {"connections", "--sort", "size"});
  EXPECT_EQ(bad_sort.code, 2) << bad_sort;
  EXPECT_EQ(Lines(bad_sort.err), 1u) << bad_sort;
}

TEST_F(ProxyctlTest, VersionWithAndWithoutANode) {
  Result table = RunOn(node_, {"version"});
  ASSERT_EQ(table.code, 0) << table;
  // Both built from this tree: the same version, commit and build type.
  const std::string build = "[0-9]+\\.[0-9]+\\.[0-9]+ \\(commit [0-9a-z-]+, [A-Za-z]+\\)";
  EXPECT_THAT(table.out, ::testing::ContainsRegex("^proxyctl " + build + "\nnode " + Addr(node_) +
                                                  ": proxynode " + build +
                                                  ", config version 1, uptime [0-9]+s\n$"));
  const std::string client_build = table.out.substr(9, table.out.find('\n') - 9);
  EXPECT_THAT(table.out, HasSubstr(": proxynode " + client_build + ", "));

  Result json = RunOn(node_, {"version", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(Field(*parsed, "client_version").text.empty());
  EXPECT_FALSE(Field(*parsed, "client_commit").text.empty());
  EXPECT_EQ(Field(Field(*parsed, "node"), "node_version").text,
            Field(*parsed, "client_version").text);
  EXPECT_EQ(Field(Field(*parsed, "node"), "commit").text, Field(*parsed, "client_commit").text);
  EXPECT_EQ(Field(Field(*parsed, "node"), "build_type").text,
            Field(*parsed, "client_build_type").text);
  EXPECT_EQ(Number(Field(Field(*parsed, "node"), "config_version")), 1);

  // No node: proxyctl's own version still, then why not the node's, and exit 3 (unreachable).
  Result unreachable = Proxyctl({"--addr", "127.0.0.1:1", "--timeout", "500ms", "version"});
  EXPECT_EQ(unreachable.code, 3) << unreachable;
  EXPECT_THAT(unreachable.out, StartsWith("proxyctl "));
  EXPECT_EQ(Lines(unreachable.out), 1u);
  EXPECT_EQ(Lines(unreachable.err), 1u);
  EXPECT_THAT(unreachable.err, HasSubstr("cannot reach 127.0.0.1:1"));
  Result unreachable_json =
      Proxyctl({"--addr", "127.0.0.1:1", "--timeout", "500ms", "version", "-o", "json"});
  EXPECT_EQ(unreachable_json.code, 3) << unreachable_json;
  parsed = ParseJson(unreachable_json.out);
  ASSERT_TRUE(parsed) << unreachable_json;
  EXPECT_TRUE(Field(*parsed, "node").is_null());
  EXPECT_THAT(Field(*parsed, "error").text, HasSubstr("cannot reach"));

  Result client_only = Proxyctl({"version", "--client"});
  EXPECT_EQ(client_only.code, 0) << client_only;
  EXPECT_EQ(client_only.out, table.out.substr(0, table.out.find('\n') + 1));
  EXPECT_EQ(Proxyctl({"--version"}).out, client_only.out);
}

TEST_F(ProxyctlTest, TopPrintsEachIterationThenExits) {
  Result top = RunOn(node_, {"top", "--iterations", "2", "--interval", "200ms"});
  ASSERT_EQ(top.code, 0) << top;
  // Piped: the frames follow each other, a blank line between them, each within 80x24.
  const std::string header = Addr(node_) + "  serving  config v1  up ";
  size_t frames = 0;
  for (size_t at = top.out.find(header); at != std::string::npos;
       at = top.out.find(header, at + 1)) {
    ++frames;
  }
  EXPECT_EQ(frames, 2u) << top;
  const std::string second_frame = top.out.substr(top.out.rfind(header));
  EXPECT_LE(Lines(second_frame), 24u) << top;
  for (size_t start = 0, end; start < top.out.size(); start = end + 1) {
    end = top.out.find('\n', start);
    EXPECT_LE(end - start, 80u) << top.out.substr(start, end - start);
  }
  // The second frame has an interval behind it: rates, the last interval's latency, each
  // worker's lateness p99. No keys line when they cannot be pressed.
  EXPECT_THAT(second_frame, ::testing::ContainsRegex("\nLATENCY +LAST_P50 +LAST_P99 ")) << top;
  EXPECT_THAT(second_frame, ::testing::ContainsRegex("req/s [0-9]+\\.[0-9]")) << top;
  EXPECT_THAT(second_frame, HasSubstr("LATE_P99")) << top;
  EXPECT_THAT(top.out, ::testing::Not(HasSubstr("q quit")));
  EXPECT_EQ(top.err, "");

  Result json = RunOn(node_, {"top", "--iterations", "2", "--interval", "100ms", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  ASSERT_EQ(Lines(json.out), 2u) << json;
  std::string second_line = json.out.substr(json.out.find('\n') + 1);
  EXPECT_TRUE(ParseJson(json.out.substr(0, json.out.find('\n'))));
  EXPECT_TRUE(ParseJson(second_line));
  EXPECT_THAT(second_line, HasSubstr("interval_timer_lateness")) << json;

  // Ctrl-C ends it cleanly: exit 0 after the frames so far.
  Result interrupted = Proxyctl({"--addr", Addr(node_), "top", "--interval", "100ms"}, {}, 700ms);
  EXPECT_EQ(interrupted.code, 0) << interrupted;
  EXPECT_THAT(interrupted.out, HasSubstr(Addr(node_) + "  serving")) << interrupted;
  EXPECT_EQ(interrupted.err, "");

  Result too_fast = RunOn(node_, {"top", "--iterations", "1", "--interval", "10ms"});
  EXPECT_EQ(too_fast.code, 1) << too_fast;  // the node refuses the interval
  EXPECT_THAT(too_fast.err, HasSubstr("INVALID_ARGUMENT: interval"));
  Result bad = RunOn(node_, {"top", "--interval", "often"});
  EXPECT_EQ(bad.code, 2) << bad;
  EXPECT_EQ(Lines(bad.err), 1u) << bad;
}

TEST_F(ProxyctlTest, DrainMakesTheNodeExitZero) {
  Result drain = RunOn(node_, {"drain", "--yes", "-o", "json"});
  ASSERT_EQ(drain.code, 0) << drain;
  std::optional<Json> parsed = ParseJson(drain.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(*parsed, "connections")), 0);
  std::optional<ExitStatus> exit = node_.WaitExit(10s);
  ASSERT_TRUE(exit) << "the node is still running after drain";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->ToString();
}

TEST_F(ProxyctlTest, DrainAsksFirstAndNeedsYesWithoutATerminal) {
  Result unconfirmed = RunOn(node_, {"drain"});
  EXPECT_EQ(unconfirmed.code, 2) << unconfirmed;
  EXPECT_EQ(unconfirmed.err, "proxyctl: this would drain " + Addr(node_) +
                                 "; pass --yes to confirm (nothing was sent)\n");
  EXPECT_FALSE(node_.WaitExit(300ms)) << "the node drained unconfirmed";
  // So does a change of the worker count; a dry run of it does not ask.
  Result workers = RunOn(node_, {"config", "set", "workers=3"});
  EXPECT_EQ(workers.code, 2) << workers;
  EXPECT_THAT(workers.err, HasSubstr("this would change the worker count of " + Addr(node_)));
  EXPECT_EQ(RunOn(node_, {"config", "set", "--dry-run", "workers=3"}).code, 0);
  EXPECT_EQ(RunOn(node_, {"config", "get", "version"}).out, "1\n");

  Result drain = RunOn(node_, {"-y", "drain"});
  ASSERT_EQ(drain.code, 0) << drain;
  EXPECT_EQ(drain.out,
            "draining " + Addr(node_) + ": 0 connections open; the node exits once they finish\n");
  std::optional<ExitStatus> exit = node_.WaitExit(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->ToString(), "exit 0");
}

TEST_F(ProxyctlTest, RefusedRequestsExitOneWithTheNodesMessage) {
  Result range = RunOn(node_, {"config", "set", "--yes", "workers=1000"});
  EXPECT_EQ(range.code, 1) << range;
  EXPECT_EQ(range.out, "");
  EXPECT_EQ(range.err, "proxyctl: INVALID_ARGUMENT: workers: 1000 is out of range [1, 256]\n");

  ASSERT_EQ(RunOn(node_, {"config", "set", "delay=1ms"}).code, 0);  // now at version 2
  Result stale = RunOn(node_, {"config", "set", "--expected-version", "1", "delay=2ms"});
  EXPECT_EQ(stale.code, 1) << stale;
  EXPECT_EQ(Lines(stale.err), 1u) << stale;
  EXPECT_THAT(stale.err, HasSubstr("FAILED_PRECONDITION: expected_version 1"));
  Result current = RunOn(node_, {"config", "set", "--expected-version", "2", "delay=2ms"});
  EXPECT_EQ(current.code, 0) << current;

  // Nothing was applied by the refused updates.
  EXPECT_EQ(RunOn(node_, {"config", "get", "workers"}).out, "2\n");
  EXPECT_EQ(RunOn(node_, {"config", "get", "delay"}).out, "2ms\n");
}

TEST_F(ProxyctlTest, UsageErrorsExitTwoWithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"bogus"}, "unknown command \"bogus\""},
      {{"config", "bogus"}, "unknown command \"bogus\" for 'proxyctl config'"},
      {{"config"}, "'proxyctl config' needs a command"},
      {{"config", "set", "delay=-5ms"}, "delay=-5ms: must be a duration >= 0"},
      {{"config", "set", "workers=abc"}, "workers=abc: must be an integer 1-256"},
      {{"config", "set", "nosuchkey=1"}, "nosuchkey=1: unknown key"},
      {{"config", "set", "max_header_bytes=lots"}, "max_header_bytes=lots: must be a size"},
      {{"config", "set", "routes={}"}, "routes={}: must be a JSON array of Route objects"},
      {{"config", "set", "upstream=nope"}, "upstream=nope: must be HOST:PORT"},
      {{"config", "set"}, "nothing to set"},
      {{"config", "get", "nosuchkey"}, "nosuchkey: unknown key"},
      {{"config", "apply"}, "--file is required"},
      {{"status", "--bogus"}, "unknown flag --bogus"},
      {{"status", "extra"}, "'proxyctl status' does not take \"extra\""},
      {{"-o", "xml", "status"}, "--output: xml"},
      {{"--timeout", "soon", "status"}, "--timeout soon"},
      {{"completion", "zsh"}, "zsh"},
  };
  for (const auto& [args, expected] : cases) {
    Result result = RunOn(node_, args);
    EXPECT_EQ(result.code, 2) << result;
    EXPECT_EQ(result.out, "") << result;
    EXPECT_EQ(Lines(result.err), 1u) << result;
    EXPECT_THAT(result.err, StartsWith("proxyctl: ")) << result;
    EXPECT_THAT(result.err, HasSubstr(expected)) << result;
  }
  Result list = Proxyctl({"--addr", Addr(node_) + "," + Addr(node_), "status"});
  EXPECT_EQ(list.code, 2) << list;
  EXPECT_EQ(list.err, "proxyctl: --addr names 2 nodes; pass --all to run the command on each\n");
  // None of them changed anything.
  EXPECT_EQ(RunOn(node_, {"config", "get", "version"}).out, "1\n");
}

TEST(ProxyctlUnreachableTest, ExitThreeWithOneLine) {
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"config", "get"},
                                             {"config", "set", "delay=1s"},
                                             {"stats"},
                                             {"connections"},
                                             {"drain", "--yes"},
                                             {"top"}}) {
    // A refused connection fails at once; the generous timeout only covers slow builds.
    std::vector<std::string> args = {"--addr", "127.0.0.1:1", "--timeout", "3s"};
    args.insert(args.end(), command.begin(), command.end());
    Result result = Proxyctl(args);
    EXPECT_EQ(result.code, 3) << command.front() << ": " << result;
    EXPECT_EQ(result.out, "") << result;
    EXPECT_EQ(result.err, "proxyctl: cannot reach 127.0.0.1:1: connection refused\n") << result;
  }
}

// A socket that listens but never accepts: TCP connects, gRPC never gets an answer.
TEST(ProxyctlUnreachableTest, SilentPeerExitsThreeAfterTheTimeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string silent = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  const auto start = std::chrono::steady_clock::now();
  Result result = Proxyctl({"--addr", silent, "--timeout", "500ms", "config", "get"});
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_EQ(result.code, 3) << result;
  EXPECT_EQ(result.err, "proxyctl: cannot reach " + silent + ": no answer within 500ms\n");
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 5s);
}

TEST(ProxyctlFleetTest, AllChangesEveryNodeOfACommaList) {
  NodeProcess first, second;
  ASSERT_TRUE(first.Start({"--workers=1"}));
  ASSERT_TRUE(second.Start({"--workers=1"}));
  ASSERT_EQ(RunOn(second, {"config", "set", "rate_limit=5"}).code, 0);  // versions differ
  std::string both = Addr(first) + "," + Addr(second);

  Result unconfirmed = Proxyctl({"--addr", both, "--all", "config", "set", "delay=75ms"});
  EXPECT_EQ(unconfirmed.code, 2) << unconfirmed;
  EXPECT_EQ(unconfirmed.err, "proxyctl: this would change 2 nodes (" + Addr(first) + ", " +
                                 Addr(second) + "); pass --yes to confirm (nothing was sent)\n");
  Result set =
      Proxyctl({"--addr", both, "--all", "--yes", "config", "set", "delay=75ms", "workers=2"});
  ASSERT_EQ(set.code, 0) << set;
  EXPECT_THAT(set.out, ::testing::ContainsRegex("^ADDR +RESULT +VERSION +APPLY_TIME +CHANGES\n"));
  EXPECT_THAT(set.out,
              ::testing::ContainsRegex(Addr(first) +
                                       " +applied +2 +.* delay: 100ms -> 75ms; workers: 1 -> 2\n"));
  EXPECT_THAT(set.out,
              ::testing::ContainsRegex(Addr(second) +
                                       " +applied +3 +.* delay: 100ms -> 75ms; workers: 1 -> 2\n"));
  for (NodeProcess* node : {&first, &second}) {
    EXPECT_EQ(RunOn(*node, {"config", "get", "delay"}).out, "75ms\n");
    EXPECT_EQ(RunOn(*node, {"config", "get", "workers"}).out, "2\n");
  }

  Result status = Proxyctl({"--addr", both, "--all", "status", "-o", "json"});
  ASSERT_EQ(status.code, 0) << status;
  std::optional<Json> parsed = ParseJson(status.out);
  ASSERT_TRUE(parsed);
  const auto& nodes = parsed->items;
  ASSERT_EQ(nodes.size(), 2);
  EXPECT_EQ(Field(nodes[0], "addr").text, Addr(first));
  EXPECT_TRUE(Field(nodes[0], "ok").boolean);
  EXPECT_TRUE(Field(nodes[0], "error").is_null());
  EXPECT_EQ(Number(Field(Field(nodes[1], "result"), "config_version")), 3);

  // Every read command takes --all, in both formats.
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {"config", "get"}, {"stats"}, {"connections"}, {"version"}}) {
    std::vector<std::string> args = {"--addr", both, "--all"};
    args.insert(args.end(), command.begin(), command.end());
    Result table = Proxyctl(args);
    ASSERT_EQ(table.code, 0) << table;
    EXPECT_THAT(table.out, HasSubstr("ADDR ")) << table;
    args.insert(args.end(), {"-o", "json"});
    Result json = Proxyctl(args);
    ASSERT_EQ(json.code, 0) << json;
    std::optional<Json> array = ParseJson(json.out);
    ASSERT_TRUE(array);
    EXPECT_EQ(array->items.size(), 2u) << json;
  }

  // A node that is down makes the whole command fail, with its own row.
  std::string three = both + ",127.0.0.1:1";
  Result partial = Proxyctl({"--addr", three, "--all", "--timeout", "500ms", "status"});
  EXPECT_EQ(partial.code, 3) << partial;
  EXPECT_THAT(partial.out, HasSubstr("127.0.0.1:1       error: cannot reach 127.0.0.1:1"));
  EXPECT_EQ(Lines(partial.out), 4u) << partial;
  EXPECT_EQ(partial.err, "proxyctl: 1 of 3 nodes failed\n");
  Result partial_json =
      Proxyctl({"--addr", three, "--all", "--timeout", "500ms", "config", "get", "-o", "json"});
  EXPECT_EQ(partial_json.code, 3) << partial_json;
  parsed = ParseJson(partial_json.out);
  ASSERT_TRUE(parsed);
  const Json& down = parsed->items[2];
  EXPECT_FALSE(Field(down, "ok").boolean);
  EXPECT_THAT(Field(down, "error").text, HasSubstr("cannot reach"));
  EXPECT_TRUE(Field(down, "result").is_null());

  // Refused by one node only: exit 1, the other applied.
  Result refused = Proxyctl({"--addr", both, "--all", "--yes", "config", "set",
                             "--expected-version", "2", "max_pending=9"});
  EXPECT_EQ(refused.code, 1) << refused;
  EXPECT_THAT(refused.out, ::testing::ContainsRegex(Addr(first) + " +applied +3"));
  EXPECT_THAT(refused.out, HasSubstr(Addr(second) + "   error: FAILED_PRECONDITION"));
}

TEST(ProxyctlEnvTest, ProxyctlAddrIsHonouredAndFlagWins) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({}));
  Result env = Proxyctl({"config", "get", "version"}, {"PROXYCTL_ADDR=" + Addr(node)});
  EXPECT_EQ(env.code, 0) << env;
  EXPECT_EQ(env.out, "1\n");
  Result flag = Proxyctl({"--addr", "127.0.0.1:1", "--timeout", "500ms", "config", "get"},
                         {"PROXYCTL_ADDR=" + Addr(node)});
  EXPECT_EQ(flag.code, 3) << flag;
  // The default address when neither is given.
  Result fallback = Proxyctl({"--timeout", "300ms", "status"});
  // (Whether or not something answers there: the address shows in the row or the error.)
  EXPECT_THAT(fallback.out + fallback.err, HasSubstr("127.0.0.1:9090")) << fallback;
}

TEST(ProxyctlHelpTest, HelpAndCompletion) {
  Result help = Proxyctl({"--help"});
  EXPECT_EQ(help.code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("Exit codes: 0 ok, 1 refused by the node, 2 usage error"));
  Result bare = Proxyctl({});
  EXPECT_EQ(bare.code, 0) << bare;
  EXPECT_EQ(bare.out, help.out);
  for (const char* command : {"status", "config", "fault", "stats", "top", "connections", "drain",
                              "version", "completion"}) {
    Result sub = Proxyctl({command, "--help"});
    EXPECT_EQ(sub.code, 0) << command << ": " << sub;
    EXPECT_THAT(sub.out, HasSubstr(std::string("Usage: proxyctl ") + command)) << sub;
  }
  Result set_help = Proxyctl({"config", "set", "--help"});
  EXPECT_THAT(set_help.out, HasSubstr("max_requests_per_connection"));

  Result script = Proxyctl({"completion", "bash"});
  ASSERT_EQ(script.code, 0) << script;
  EXPECT_THAT(script.out, HasSubstr("complete -F _proxyctl proxyctl"));
  // Drive the completion function as bash would, for a few command lines.
  std::string path = ::testing::TempDir() + "/proxyctl_completion.bash";
  std::ofstream(path) << script.out;
  auto complete = [&path](const std::string& words) {
    std::string script_path = path + ".run";
    std::ofstream(script_path) << "source '" << path << "'\nCOMP_WORDS=(" << words
                               << ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_proxyctl\n"
                               << "echo \"${COMPREPLY[*]}\"\n";
    FILE* out = popen(("bash '" + script_path + "' 2>/dev/null").c_str(), "r");
    std::string text;
    char buffer[512];
    while (out != nullptr && std::fgets(buffer, sizeof(buffer), out) != nullptr) text += buffer;
    if (out != nullptr) pclose(out);
    return text;
  };
  EXPECT_EQ(complete("proxyctl ''"),
            "status config fault tcp toxic stats top connections drain version completion\n");
  EXPECT_EQ(complete("proxyctl toxic ''"), "add update remove list\n");
  EXPECT_EQ(complete("proxyctl toxic add redis -t l"), "latency limit_data\n");
  EXPECT_EQ(complete("proxyctl toxic add redis -t latency -a ji"), "jitter=\n");
  // --upstream takes a value in `tcp add` and none in `toxic add`.
  EXPECT_EQ(complete("proxyctl toxic add redis --upstream --dow"), "--downstream\n");
  EXPECT_EQ(complete("proxyctl tcp add redis --upstream --dis"), "\n");  // its value
  EXPECT_EQ(complete("proxyctl co"), "config connections completion\n");
  EXPECT_EQ(complete("proxyctl config s"), "set\n");
  EXPECT_EQ(complete("proxyctl --addr 127.0.0.1 : 9090 config set de"), "delay=\n");
  EXPECT_EQ(complete("proxyctl config get max_h"), "max_header_bytes\n");
  EXPECT_EQ(complete("proxyctl connections --sort b"), "bytes_in bytes_out\n");
  EXPECT_EQ(complete("proxyctl -o ''"), "table json yaml\n");
  EXPECT_EQ(complete("proxyctl top --i"), "--interval --iterations\n");
  EXPECT_EQ(complete("proxyctl fault r"), "remove\n");
  EXPECT_EQ(complete("proxyctl fault add x --delay-on f"), "first-byte\n");
  EXPECT_EQ(complete("proxyctl fault add x --bandwidth-s"), "--bandwidth-scope\n");
}

}  // namespace
}  // namespace proxynode::testing
