// "did you mean" and flag spellings.

#include "cli/suggest.h"

#include "gtest/gtest.h"

namespace proxyctl {
namespace {

const std::vector<std::string> kCommands = {"status", "config",      "fault", "stats",
                                            "top",    "connections", "drain", "version"};

TEST(SuggestTest, ATypoFindsTheCommandItMeant) {
  EXPECT_EQ(ClosestMatch("conifg", kCommands), "config");  // a transposition
  EXPECT_EQ(ClosestMatch("stauts", kCommands), "status");
  EXPECT_EQ(ClosestMatch("drian", kCommands), "drain");
  EXPECT_EQ(ClosestMatch("STATS", kCommands), "stats");
  EXPECT_EQ(ClosestMatch("conn", kCommands), "connections");  // a prefix
}

TEST(SuggestTest, AWordFarFromEveryCandidateGetsNoSuggestion) {
  EXPECT_EQ(ClosestMatch("deploy", kCommands), "");
  EXPECT_EQ(ClosestMatch("x", kCommands), "");
  EXPECT_EQ(WithSuggestion("unknown", "deploy", kCommands), "unknown");
  EXPECT_EQ(WithSuggestion("unknown", "fualt", kCommands), "unknown; did you mean \"fault\"?");
}

TEST(SuggestTest, KeysMatchWithUnderscoresOrDashes) {
  const std::vector<std::string> keys = {"max_pending", "max_connections", "rate_limit"};
  EXPECT_EQ(ClosestMatch("max-pendng", keys), "max_pending");
  EXPECT_EQ(ClosestMatch("ratelimit", keys), "rate_limit");
}

TEST(SuggestTest, FlagsAreRespelledToTheKnownSpellingOnly) {
  const std::vector<std::string> flags = {"--tls_ca", "--expected-version", "--dry-run"};
  EXPECT_EQ(CanonicalFlagSpelling("--tls-ca", flags), "--tls_ca");
  EXPECT_EQ(CanonicalFlagSpelling("--tls_ca", flags), "--tls_ca");
  EXPECT_EQ(CanonicalFlagSpelling("--expected_version=3", flags), "--expected-version=3");
  EXPECT_EQ(CanonicalFlagSpelling("--dry_run", flags), "--dry-run");
  // Values and other words are left alone.
  EXPECT_EQ(CanonicalFlagSpelling("--dry-run=a_b", flags), "--dry-run=a_b");
  EXPECT_EQ(CanonicalFlagSpelling("max_pending=3", flags), "max_pending=3");
  EXPECT_EQ(CanonicalFlagSpelling("--no_such_flag", flags), "--no_such_flag");
  EXPECT_EQ(CanonicalFlagSpelling("-o", flags), "-o");
}

}  // namespace
}  // namespace proxyctl
