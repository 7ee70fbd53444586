// `proxyctl fault add|list|remove|clear` against real nodes: the issue's examples, the list
// in table and JSON form (hits, time left), --replace, a taken or unknown name refused,
// CAS with --expected-version, the node's refusals, usage errors, and --all over two nodes.

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/json_check.h"
#include "tests/cli/proxyctl_runner.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ProxyctlFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.Start({"--workers=1", "--delay=0s"})); }

  Result Fault(std::vector<std::string> args) {
    args.insert(args.begin(), "fault");
    return RunOn(node_, args);
  }
  std::string Version() { return RunOn(node_, {"config", "get", "version"}).out; }

  NodeProcess node_;
};

TEST_F(ProxyctlFaultTest, TheIssuesExamplesAddThenListShowsThem) {
  Result slow = Fault({"add", "slow-api", "--path", "/api/", "--delay",
                       "lognormal:p50=40ms,p99=900ms", "--percent", "25", "--for", "10m"});
  ASSERT_EQ(slow.code, 0) << slow;
  EXPECT_THAT(slow.out, ContainsRegex("^added fault rule slow-api on " + Addr(node_) +
                                      " \\(match path=/api/; delay lognormal p50=40ms "
                                      "p99=900ms; 25%; (9m5[0-9]s|10m0s) left\\): config "
                                      "version 2\n$"));
  EXPECT_EQ(slow.err, "");
  Result flaky =
      Fault({"add", "flaky", "--header", "x-user=test", "--abort", "503", "--percent", "2"});
  ASSERT_EQ(flaky.code, 0) << flaky;
  EXPECT_EQ(flaky.out, "added fault rule flaky on " + Addr(node_) +
                           " (match header:x-user=test; abort 503; 2%): config version 3\n");

  Result list = Fault({"list"});
  ASSERT_EQ(list.code, 0) << list;
  ASSERT_EQ(Lines(list.out), 3u) << list;
  EXPECT_THAT(list.out, ContainsRegex("^NAME +MATCH +FAULTS +PERCENT +HITS +LEFT\n"));
  // No traffic yet, and perhaps no counters for the rules: hits are 0.
  EXPECT_THAT(list.out,
              ContainsRegex("\nslow-api +path=/api/ +delay lognormal p50=40ms p99=900ms +25% +"
                            "0/0 +(9m5[0-9]s|10m0s)\n"));
  EXPECT_THAT(list.out, ContainsRegex("\nflaky +header:x-user=test +abort 503 +2% +0/0 +-\n"));
}

TEST_F(ProxyctlFaultTest, ListJsonHasEachRuleAndItsCounters) {
  ASSERT_EQ(Fault({"add", "a", "--delay", "250ms", "--until", "2099-01-01T00:00:00Z"}).code, 0);
  ASSERT_EQ(Fault({"add", "b", "--bandwidth", "64KiB", "--bandwidth-scope", "rule"}).code, 0);
  Result json = Fault({"list", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Number(Field(*parsed, "config_version")), 3);
  const std::vector<Json>& rules = Field(*parsed, "rules").items;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(Field(Field(rules[0], "rule"), "name").text, "a");
  EXPECT_EQ(Field(Field(rules[0], "rule"), "expires_at").text, "2099-01-01T00:00:00Z");
  EXPECT_EQ(Field(Field(rules[0], "stats"), "name").text, "a");
  EXPECT_EQ(Number(Field(Field(rules[0], "stats"), "fired")), 0);
  EXPECT_EQ(Number(Field(Field(rules[0], "stats"), "matched")), 0);
  EXPECT_EQ(Number(Field(Field(Field(rules[1], "rule"), "bandwidth"), "bytes_per_second")), 65536);
  EXPECT_EQ(Field(Field(Field(rules[1], "rule"), "bandwidth"), "scope").text, "RULE");

  Result table = Fault({"list"});
  EXPECT_THAT(table.out, ContainsRegex("\na +any +delay 250ms +100% +0/0 +[0-9]+d[0-9]+h\n"));
  EXPECT_THAT(table.out,
              ContainsRegex("\nb +any +bandwidth 64KiB/s shared by the rule +100% +0/0 +-\n"));
}

TEST_F(ProxyctlFaultTest, NoRulesSaysSo) {
  Result list = Fault({"list"});
  EXPECT_EQ(list.code, 0) << list;
  EXPECT_EQ(list.out, "no fault rules on " + Addr(node_) + "\n");
  Result json = Fault({"list", "-o", "json"});
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(Field(*parsed, "rules").items.empty());
}

TEST_F(ProxyctlFaultTest, ATakenNameIsRefusedAndReplaceKeepsItsPlace) {
  ASSERT_EQ(Fault({"add", "a", "--abort", "503"}).code, 0);
  ASSERT_EQ(Fault({"add", "b", "--abort", "reset"}).code, 0);
  Result taken = Fault({"add", "a", "--abort", "500"});
  EXPECT_EQ(taken.code, 1) << taken;
  EXPECT_EQ(taken.out, "");
  EXPECT_EQ(taken.err,
            "proxyctl: a fault rule named \"a\" exists; --replace replaces it, or remove it "
            "first\n");
  EXPECT_EQ(Version(), "3\n");  // nothing was sent

  Result replaced = Fault({"add", "a", "--abort", "cut:after=100", "--tag", "--replace"});
  ASSERT_EQ(replaced.code, 0) << replaced;
  EXPECT_EQ(replaced.out, "replaced fault rule a on " + Addr(node_) +
                              " (match any; abort cut after=100, tag; 100%): config version 4\n");
  Result list = Fault({"list"});
  EXPECT_THAT(list.out, ContainsRegex("\na +any +abort cut after=100, tag +.*\nb +any +abort "
                                      "reset +"));
}

TEST_F(ProxyctlFaultTest, ExpectedVersionGuardsEveryEdit) {
  ASSERT_EQ(Fault({"add", "a", "--delay", "1ms"}).code, 0);  // version 2
  for (const std::vector<std::string>& edit : std::vector<std::vector<std::string>>{
           {"add", "b", "--delay", "1ms", "--expected-version", "1"},
           {"remove", "a", "--expected-version", "1"},
           {"clear", "--expected-version", "1"}}) {
    Result stale = Fault(edit);
    EXPECT_EQ(stale.code, 1) << edit.front() << ": " << stale;
    EXPECT_EQ(Lines(stale.err), 1u) << stale;
    EXPECT_THAT(stale.err, HasSubstr("FAILED_PRECONDITION: expected_version 1 but the config is "
                                     "at version 2"));
  }
  EXPECT_EQ(Version(), "2\n");
  Result current = Fault({"add", "b", "--delay", "1ms", "--expected-version", "2"});
  EXPECT_EQ(current.code, 0) << current;
  EXPECT_THAT(current.out, HasSubstr("config version 3"));
}

TEST_F(ProxyctlFaultTest, RemoveAndClear) {
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_EQ(Fault({"add", name, "--abort", "close"}).code, 0);
  }
  Result unknown = Fault({"remove", "a", "nope"});
  EXPECT_EQ(unknown.code, 1) << unknown;
  EXPECT_EQ(unknown.err, "proxyctl: no fault rule named \"nope\"; rules: a, b, c\n");
  EXPECT_EQ(Version(), "4\n");

  Result removed = Fault({"remove", "c", "a"});
  ASSERT_EQ(removed.code, 0) << removed;
  EXPECT_EQ(removed.out, "removed fault rules c, a from " + Addr(node_) + ": config version 5\n");
  EXPECT_THAT(Fault({"list"}).out, ContainsRegex("^NAME .*\nb +any +abort close +"));

  ASSERT_EQ(Fault({"add", "d", "--abort", "silent"}).code, 0);
  Result cleared = Fault({"clear"});
  ASSERT_EQ(cleared.code, 0) << cleared;
  EXPECT_EQ(cleared.out, "cleared 2 fault rules (b, d) on " + Addr(node_) + ": config version 7\n");
  EXPECT_EQ(Fault({"list"}).out, "no fault rules on " + Addr(node_) + "\n");
  // Nothing to clear: no new config version.
  Result again = Fault({"clear", "-o", "json"});
  ASSERT_EQ(again.code, 0) << again;
  std::optional<Json> parsed = ParseJson(again.out);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(Field(*parsed, "result").text, "unchanged");
  EXPECT_EQ(Version(), "7\n");
}

TEST_F(ProxyctlFaultTest, TheNodesRefusalIsPrintedAsItIs) {
  Result status = Fault({"add", "bad", "--abort", "700"});
  EXPECT_EQ(status.code, 1) << status;
  EXPECT_EQ(status.err,
            "proxyctl: INVALID_ARGUMENT: faults[0].abort.status: 700 is out of range [200, 599]\n");
  Result path = Fault({"add", "bad", "--path", "api/", "--delay", "1ms"});
  EXPECT_EQ(path.code, 1) << path;
  EXPECT_THAT(path.err, StartsWith("proxyctl: INVALID_ARGUMENT: faults[0].match.path_prefix: "));
  Result shape = Fault({"add", "bad", "--delay", "lognormal:p50=1s,p99=10ms"});
  EXPECT_EQ(shape.code, 1) << shape;
  EXPECT_THAT(shape.err, HasSubstr("faults[0].delay"));
  EXPECT_EQ(Version(), "1\n");
}

TEST_F(ProxyctlFaultTest, UsageErrorsExitTwoWithOneLineAndSendNothing) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "'proxyctl fault' needs a command: add, list, remove, clear"},
      {{"bogus"}, "unknown command \"bogus\" for 'proxyctl fault'"},
      {{"add"}, "name is required"},
      {{"add", "x"}, "no fault: give --delay, --abort, --bandwidth or --header-triggers"},
      {{"add", "x", "--delay", "soon"}, "--delay soon: must be a duration like 250ms"},
      {{"add", "x", "--abort", "5xx"}, "--abort 5xx: must be a status code like 503"},
      {{"add", "x", "--abort", "reset", "--abort-body", "b"}, "go with a status abort only"},
      {{"add", "x", "--delay", "1ms", "--delay-on", "late"}, "--delay-on: late not in"},
      {{"add", "x", "--header", "x-user: test", "--delay", "1ms"}, "--header x-user: test: "},
      {{"add", "x", "--bandwidth", "fast"}, "--bandwidth fast: must be bytes per second"},
      {{"add", "x", "--delay", "1ms", "--percent", "half"}, "--percent half: must be a number"},
      {{"add", "x", "--delay", "1ms", "--for", "1m", "--until", "2099-01-01T00:00:00Z"},
       "--for and --until both set the expiry"},
      {{"add", "x", "--delay", "1ms", "--until", "2001-01-01T00:00:00Z"}, "is not in the future"},
      {{"add", "x", "y", "--delay", "1ms"}, "'proxyctl fault add' does not take \"y\""},
      {{"remove"}, "names is required"},
      {{"list", "extra"}, "'proxyctl fault list' does not take \"extra\""},
  };
  for (const auto& [args, expected] : cases) {
    Result result = Fault(args);
    EXPECT_EQ(result.code, 2) << result;
    EXPECT_EQ(result.out, "") << result;
    EXPECT_EQ(Lines(result.err), 1u) << result;
    EXPECT_THAT(result.err, StartsWith("proxyctl: ")) << result;
    EXPECT_THAT(result.err, HasSubstr(expected)) << result;
  }
  EXPECT_EQ(Version(), "1\n");
}

TEST(ProxyctlFaultFleetTest, AllEditsAndListsEveryNode) {
  NodeProcess first, second;
  ASSERT_TRUE(first.Start({"--workers=1"}));
  ASSERT_TRUE(second.Start({"--workers=1"}));
  ASSERT_EQ(RunOn(second, {"config", "set", "rate_limit=5"}).code, 0);  // versions differ
  const std::string both = Addr(first) + "," + Addr(second);

  Result add =
      Proxyctl({"--addr", both, "--all", "--yes", "fault", "add", "slow", "--delay", "5ms"});
  ASSERT_EQ(add.code, 0) << add;
  EXPECT_THAT(add.out, ContainsRegex("^ADDR +RESULT +VERSION +RULE\n"));
  EXPECT_THAT(add.out, ContainsRegex(Addr(first) + " +added +2 +slow: match any; delay 5ms"));
  EXPECT_THAT(add.out, ContainsRegex(Addr(second) + " +added +3 +slow: match any; delay 5ms"));

  Result list = Proxyctl({"--addr", both, "--all", "fault", "list"});
  ASSERT_EQ(list.code, 0) << list;
  EXPECT_THAT(list.out, ContainsRegex("^ADDR +NAME +MATCH +FAULTS +PERCENT +HITS +LEFT\n"));
  EXPECT_THAT(list.out, ContainsRegex(Addr(first) + " +slow +any +delay 5ms +100% +0/0 +-\n"));
  EXPECT_THAT(list.out, ContainsRegex(Addr(second) + " +slow +any +delay 5ms +100% +0/0 +-\n"));

  // Refused on one node only (the name is taken there): exit 1, the other applied.
  ASSERT_EQ(RunOn(second, {"fault", "add", "only-second", "--abort", "503"}).code, 0);
  Result partly =
      Proxyctl({"--addr", both, "--all", "--yes", "fault", "add", "only-second", "--abort", "503"});
  EXPECT_EQ(partly.code, 1) << partly;
  EXPECT_THAT(partly.out, ContainsRegex(Addr(first) + " +added +3 +only-second"));
  EXPECT_THAT(partly.out, HasSubstr(Addr(second) + "   error: a fault rule named \"only-second\""));

  Result json = Proxyctl({"--addr", both, "--all", "--yes", "fault", "clear", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json;
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->items.size(), 2u);
  EXPECT_EQ(Field(Field(parsed->items[1], "result"), "result").text, "cleared");
  EXPECT_EQ(Field(Field(parsed->items[1], "result"), "rules").items.size(), 2u);
  for (NodeProcess* node : {&first, &second}) {
    EXPECT_EQ(RunOn(*node, {"fault", "list"}).out, "no fault rules on " + Addr(*node) + "\n");
  }
}

}  // namespace
}  // namespace proxynode::testing
