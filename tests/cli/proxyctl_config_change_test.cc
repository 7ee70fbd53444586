// proxyctl's safe changes against a real node: dry runs that move nothing, diffs on every
// change, "unchanged" without a new version, history, rollback, and the notes that a watched
// config file owns the node.

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/proxyctl_runner.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class ProxyctlConfigChangeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(node_.Start({"--workers=1", "--delay=0s"})); }
  std::string Version() { return RunOn(node_, {"config", "get", "version"}).out; }
  NodeProcess node_;
};

TEST_F(ProxyctlConfigChangeTest, SetDryRunPrintsTheDiffAndMovesNothing) {
  Result dry = RunOn(node_, {"config", "set", "--dry-run", "delay=40ms", "max_pending=9"});
  ASSERT_EQ(dry.code, 0) << dry;
  EXPECT_EQ(dry.out, "dry run on " + Addr(node_) +
                         ": at config version 1 this would change:\n"
                         "  delay: 0s -> 40ms\n  max_pending: 0 -> 9\n");
  EXPECT_EQ(Version(), "1\n");
  EXPECT_EQ(RunOn(node_, {"config", "get", "delay"}).out, "0s\n");

  // Refused exactly as the change itself would be.
  Result refused = RunOn(node_, {"config", "set", "--dry-run", "workers=1000"});
  EXPECT_EQ(refused.code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("workers"));
}

TEST_F(ProxyctlConfigChangeTest, ASetThatChangesNothingSaysSoAndKeepsTheVersion) {
  ASSERT_EQ(RunOn(node_, {"config", "set", "delay=5ms"}).code, 0);
  Result again = RunOn(node_, {"config", "set", "delay=5ms"});
  ASSERT_EQ(again.code, 0) << again;
  EXPECT_EQ(again.out,
            "unchanged on " + Addr(node_) + ": config version 2 already is what was asked\n");
  EXPECT_EQ(Version(), "2\n");
}

TEST_F(ProxyctlConfigChangeTest, HistoryListsEachVersionAndRollbackRestoresOne) {
  ASSERT_EQ(RunOn(node_, {"config", "set", "delay=5ms"}).code, 0);
  ASSERT_EQ(RunOn(node_, {"config", "set", "delay=7ms", "rate_limit=100"}).code, 0);

  Result history = RunOn(node_, {"config", "history"});
  ASSERT_EQ(history.code, 0) << history;
  EXPECT_THAT(history.out,
              MatchesRegex("VERSION +APPLIED +SOURCE +BY +CHANGES\n"
                           "1 +[-0-9]+ [:0-9]+Z +startup +start-up +-\n"
                           "2 +[-0-9]+ [:0-9]+Z +update +ipv4:127.0.0.1:[0-9]+ +"
                           "delay: 0s -> 5ms\n"
                           "3 +.* +update +.* +delay: 5ms -> 7ms; rate_limit: 0 -> 100\n"));

  Result dry = RunOn(node_, {"config", "rollback", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry;
  EXPECT_THAT(dry.out, HasSubstr("  delay: 7ms -> 5ms\n  rate_limit: 100 -> 0\n"));
  EXPECT_EQ(Version(), "3\n");

  // The same CAS as any change.
  Result stale = RunOn(node_, {"config", "rollback", "--expected-version", "2"});
  EXPECT_EQ(stale.code, 1) << stale;

  Result back = RunOn(node_, {"config", "rollback", "--to", "1", "--expected-version", "3"});
  ASSERT_EQ(back.code, 0) << back;
  EXPECT_THAT(back.out, MatchesRegex("rolled back on " + Addr(node_) +
                                     ": config version 4 in [0-9.]+[mu]?s\n"
                                     "  delay: 7ms -> 0s\n  rate_limit: 100 -> 0\n"));
  EXPECT_EQ(RunOn(node_, {"config", "get", "delay"}).out, "0s\n");
  EXPECT_THAT(RunOn(node_, {"config", "history"}).out, HasSubstr(" rollback to 1 "));

  Result gone = RunOn(node_, {"config", "rollback", "--to", "99"});
  EXPECT_EQ(gone.code, 1) << gone;
  EXPECT_THAT(gone.err, HasSubstr("version 99 is not in the history"));
}

TEST_F(ProxyctlConfigChangeTest, AnApplyOrRollbackThatChangesWorkersAsksFirst) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "proxyctl_workers.textproto";
  std::ofstream(file) << "workers: 2\n";
  Result unconfirmed = RunOn(node_, {"config", "apply", "-f", file.string()});
  EXPECT_EQ(unconfirmed.code, 2) << unconfirmed;
  EXPECT_EQ(unconfirmed.err, "proxyctl: this would change the worker count of " + Addr(node_) +
                                 "; pass --yes to confirm (nothing was sent)\n");
  EXPECT_EQ(Version(), "1\n");
  ASSERT_EQ(RunOn(node_, {"config", "apply", "--yes", "-f", file.string()}).code, 0);
  // A file that leaves the workers alone does not ask.
  std::ofstream(file) << "workers: 2\ndelay { nanos: 1000000 }\n";
  ASSERT_EQ(RunOn(node_, {"config", "apply", "-f", file.string()}).code, 0);
  // Back to version 1 means back to one worker: asked too.
  Result rollback = RunOn(node_, {"config", "rollback", "--to", "1"});
  EXPECT_EQ(rollback.code, 2) << rollback;
  EXPECT_EQ(RunOn(node_, {"config", "rollback", "--to", "1", "--yes"}).code, 0);
  EXPECT_EQ(RunOn(node_, {"config", "get", "workers"}).out, "1\n");
}

TEST(ProxyctlWatchedFileTest, GetStatusAndSetSayThatTheFileOwnsTheConfig) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "proxyctl_watched.textproto";
  std::ofstream(file) << "delay { nanos: 1000000 }\n";
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=1", "--config=" + file.string()}));
  const std::string note = "note: " + Addr(node) + " takes its config from the watched file " +
                           file.string() +
                           ": its next change replaces what is set by other means\n";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"config", "get"},
                                               {"config", "get", "delay"},
                                               {"status"},
                                               {"config", "set", "delay=2ms"}}) {
    Result run = RunOn(node, args);
    ASSERT_EQ(run.code, 0) << run;
    EXPECT_EQ(run.err, note) << args[0];
  }
  // The note goes to stderr: what a script reads stays the value.
  EXPECT_EQ(RunOn(node, {"config", "get", "delay"}).out, "2ms\n");

  NodeProcess plain;
  ASSERT_TRUE(plain.Start({"--workers=1", "--config=" + file.string(), "--watch_config=false"}));
  EXPECT_EQ(RunOn(plain, {"config", "get"}).err, "");
}

TEST_F(ProxyctlConfigChangeTest, GetShowsTheEffectiveConnectionLimitBesideTheConfiguredOne) {
  Result get = RunOn(node_, {"config", "get"});
  ASSERT_EQ(get.code, 0) << get;
  EXPECT_THAT(get.out, ::testing::ContainsRegex("\nmax_connections +0 \\(auto: [0-9]+\\)\n"));
}

}  // namespace
}  // namespace proxynode::testing
