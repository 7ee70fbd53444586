// Confirmation before a command takes a fleet down.

#include "cli/confirm.h"

#include <sstream>

#include "cli/exit_codes.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

TEST(ConfirmTest, WhatNeedsConfirmation) {
  EXPECT_EQ(DescribeRisk("drain", true, {"a:1"}), "drain a:1");
  EXPECT_EQ(DescribeRisk("", true, {"a:1"}), "");
  EXPECT_EQ(DescribeRisk("", true, {"a:1", "b:1"}), "change 2 nodes (a:1, b:1)");
  EXPECT_EQ(DescribeRisk("", false, {"a:1", "b:1"}), "");  // reading many nodes asks nothing
}

TEST(ConfirmTest, ATerminalIsAskedAndOnlyYesProceeds) {
  for (const char* answer : {"y\n", "YES\n"}) {
    std::istringstream in(answer);
    std::ostringstream out;
    EXPECT_TRUE(Confirm("drain a:1", false, true, in, out).ok()) << answer;
    EXPECT_EQ(out.str(), "proxyctl: this will drain a:1. Proceed? [y/N] ");
  }
  for (const char* answer : {"\n", "n\n", "yep\n", ""}) {
    std::istringstream in(answer);
    std::ostringstream out;
    Outcome refused = Confirm("drain a:1", false, true, in, out);
    EXPECT_EQ(refused.exit_code, kExitUsage) << answer;
    EXPECT_EQ(refused.error, "not confirmed; nothing was sent");
  }
}

TEST(ConfirmTest, ElsewhereItNeedsYes) {
  std::istringstream in("y\n");
  std::ostringstream out;
  Outcome refused = Confirm("drain a:1", false, false, in, out);
  EXPECT_EQ(refused.exit_code, kExitUsage);
  EXPECT_EQ(refused.error, "this would drain a:1; pass --yes to confirm (nothing was sent)");
  EXPECT_EQ(out.str(), "");  // nothing asked, nothing read
  EXPECT_TRUE(Confirm("drain a:1", true, false, in, out).ok());
  EXPECT_TRUE(Confirm("", false, false, in, out).ok());
}

}  // namespace
}  // namespace proxyctl
