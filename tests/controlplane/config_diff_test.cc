// DiffConfigs: what an answer, the history and the audit log say changed.

#include "controlplane/config_diff.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Lines(const v1::NodeConfig& before, const v1::NodeConfig& after) {
  std::vector<std::string> lines;
  for (const v1::ConfigFieldChange& change : DiffConfigs(before, after)) {
    lines.push_back(change.field() + ": " + change.before() + " -> " + change.after());
  }
  return lines;
}

v1::FaultRule Rule(const std::string& name, double percent) {
  v1::FaultRule rule;
  rule.set_name(name);
  rule.set_percent(percent);
  return rule;
}

TEST(ConfigDiffTest, EqualConfigsHaveNoDiffAndTheVersionIsNeverOne) {
  v1::NodeConfig a;
  a.set_version(1);
  a.set_workers(2);
  v1::NodeConfig b = a;
  b.set_version(2);
  EXPECT_TRUE(DiffConfigs(a, b).empty());
}

TEST(ConfigDiffTest, ScalarsDurationsAndStringsReadAsWritten) {
  v1::NodeConfig a;
  a.set_workers(2);
  a.mutable_delay()->set_nanos(250'000'000);
  a.set_body("Hello\n");
  v1::NodeConfig b;
  b.set_workers(3);
  b.mutable_delay()->set_seconds(1);
  b.set_body("Bye\n");
  EXPECT_THAT(Lines(a, b), ElementsAre("delay: 250ms -> 1s", "body: \"Hello\\n\" -> \"Bye\\n\"",
                                       "workers: 2 -> 3"));
}

TEST(ConfigDiffTest, ASetFieldAgainstAnUnsetOneShowsEmptyForTheUnset) {
  v1::NodeConfig a;
  v1::NodeConfig b;
  b.set_max_pending(0);  // present, even at zero
  EXPECT_THAT(Lines(a, b), ElementsAre("max_pending:  -> 0"));
}

TEST(ConfigDiffTest, RoutesAreMatchedByPrefixAndFaultsByName) {
  v1::NodeConfig a;
  v1::Route* api = a.add_routes();
  api->set_prefix("/api/");
  api->set_action(v1::Route::PROXY);
  api->add_upstreams("10.0.0.1:80");
  a.add_routes()->set_prefix("/old/");
  *a.add_faults() = Rule("slow", 10);
  v1::NodeConfig b;
  b.add_routes()->set_prefix("/new/");
  *b.add_routes() = *api;
  b.mutable_routes(1)->add_upstreams("10.0.0.2:80");
  *b.add_faults() = Rule("slow", 25);
  EXPECT_THAT(Lines(a, b),
              ElementsAre("routes[/old/]: {prefix: \"/old/\"} -> ",
                          "routes[/new/]:  -> {prefix: \"/new/\"}",
                          "routes[/api/].upstreams: [\"10.0.0.1:80\"] -> [\"10.0.0.1:80\", "
                          "\"10.0.0.2:80\"]",
                          "faults[slow].percent: 10 -> 25"));
}

TEST(ConfigDiffTest, ANewOrderOfTheSameRulesIsAChange) {
  v1::NodeConfig a;
  *a.add_faults() = Rule("first", 10);
  *a.add_faults() = Rule("second", 10);
  v1::NodeConfig b;
  *b.add_faults() = Rule("second", 10);
  *b.add_faults() = Rule("first", 10);
  EXPECT_THAT(Lines(a, b), ElementsAre("faults (order): first, second -> second, first"));
}

TEST(ConfigDiffTest, EntriesSharingAKeyAreComparedAsAWholeList) {
  v1::NodeConfig a;
  v1::HeaderMatch* header = a.add_faults()->mutable_match()->add_headers();
  a.mutable_faults(0)->set_name("r");
  header->set_name("x-a");
  *a.mutable_faults(0)->mutable_match()->add_headers() = *header;
  v1::NodeConfig b = a;
  b.mutable_faults(0)->mutable_match()->mutable_headers(1)->set_value("v");
  EXPECT_THAT(Lines(a, b),
              ElementsAre("faults[r].match.headers: [{name: \"x-a\"}, {name: \"x-a\"}] -> "
                          "[{name: \"x-a\"}, {name: \"x-a\", value: \"v\"}]"));
}

TEST(ConfigDiffTest, ALongValueIsCutAndSaysItsSize) {
  v1::NodeConfig a;
  v1::NodeConfig b;
  b.set_body(std::string(1000, 'x'));
  std::vector<v1::ConfigFieldChange> diff = DiffConfigs(a, b);
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_LT(diff[0].after().size(), 220u);
  EXPECT_THAT(diff[0].after(), ::testing::EndsWith("... (1002 characters in all)"));
}

TEST(ConfigDiffTest, TheJsonFormIsAnArrayOfObjects) {
  v1::NodeConfig a;
  a.set_body("a\"");
  v1::NodeConfig b;
  b.set_body("b");
  EXPECT_EQ(DiffToJson(DiffConfigs(a, b)),
            R"([{"field":"body","before":"\"a\\\"\"","after":"\"b\""}])");
  EXPECT_EQ(DiffToJson({}), "[]");
}

}  // namespace
}  // namespace proxynode
