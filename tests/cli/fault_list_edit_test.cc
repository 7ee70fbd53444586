// The rule list edits behind fault add (append, --replace in place, a taken name refused)
// and fault remove (unknown names refused, nothing removed then).

#include "cli/fault_list_edit.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::FaultRule;
using ::testing::ElementsAre;

FaultRule Named(const std::string& name, double percent = 100) {
  FaultRule rule;
  rule.set_name(name);
  rule.set_percent(percent);
  return rule;
}

FaultRules ThreeRules() {
  FaultRules rules;
  for (const char* name : {"a", "b", "c"}) *rules.Add() = Named(name);
  return rules;
}

std::vector<std::string> Names(const FaultRules& rules) {
  std::vector<std::string> names;
  for (const FaultRule& rule : rules) names.push_back(rule.name());
  return names;
}

TEST(FaultListEditTest, PutAppendsANewName) {
  FaultRules rules = ThreeRules();
  bool replaced = true;
  ASSERT_TRUE(PutFaultRule(rules, Named("d"), false, &replaced).ok());
  EXPECT_FALSE(replaced);
  EXPECT_THAT(Names(rules), ElementsAre("a", "b", "c", "d"));
}

TEST(FaultListEditTest, PutRefusesATakenNameWithoutReplace) {
  FaultRules rules = ThreeRules();
  bool replaced = false;
  absl::Status status = PutFaultRule(rules, Named("b", 5), false, &replaced);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "a fault rule named \"b\" exists; --replace replaces it, or remove it first");
  EXPECT_THAT(Names(rules), ElementsAre("a", "b", "c"));
  EXPECT_EQ(rules.Get(1).percent(), 100);  // untouched
}

TEST(FaultListEditTest, ReplaceKeepsTheRulesPlace) {
  FaultRules rules = ThreeRules();
  bool replaced = false;
  ASSERT_TRUE(PutFaultRule(rules, Named("b", 5), true, &replaced).ok());
  EXPECT_TRUE(replaced);
  EXPECT_THAT(Names(rules), ElementsAre("a", "b", "c"));
  EXPECT_EQ(rules.Get(1).percent(), 5);
  // --replace of a name that is not there adds it.
  ASSERT_TRUE(PutFaultRule(rules, Named("z"), true, &replaced).ok());
  EXPECT_FALSE(replaced);
  EXPECT_THAT(Names(rules), ElementsAre("a", "b", "c", "z"));
}

TEST(FaultListEditTest, RemoveTakesTheNamedOnesOnce) {
  FaultRules rules = ThreeRules();
  ASSERT_TRUE(RemoveFaultRules(rules, {"c", "a", "a"}).ok());
  EXPECT_THAT(Names(rules), ElementsAre("b"));
}

TEST(FaultListEditTest, RemoveOfAnUnknownNameRemovesNothing) {
  FaultRules rules = ThreeRules();
  absl::Status status = RemoveFaultRules(rules, {"a", "x", "y", "x"});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no fault rule named \"x\", \"y\"; rules: a, b, c");
  EXPECT_THAT(Names(rules), ElementsAre("a", "b", "c"));
  FaultRules none;
  EXPECT_EQ(RemoveFaultRules(none, {"a"}).message(), "no fault rule named \"a\"; rules: none");
}

TEST(FaultListEditTest, Names) {
  EXPECT_EQ(FaultRuleNames(ThreeRules()), "a, b, c");
  EXPECT_EQ(FaultRuleNames({}), "none");
}

}  // namespace
}  // namespace proxyctl
