// The compact forms `fault list` shows: match, faults, percent and time left.

#include "cli/fault_format.h"

#include <string>
#include <utility>
#include <vector>

#include "cli/fault_delay_values.h"
#include "cli/fault_values.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::FaultRule;

FaultRule Rule(const std::string& text) {
  FaultRule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rule)) << text;
  return rule;
}

TEST(FaultFormatTest, MatchIsCompactAndAnyWhenEmpty) {
  EXPECT_EQ(FormatFaultMatch({}), "any");
  EXPECT_EQ(FormatFaultMatch(Rule(R"pb(match {
                                         path_prefix: "/api/"
                                         headers { name: "x-user" kind: EXACT value: "test" }
                                       })pb")
                                 .match()),
            "path=/api/ header:x-user=test");
  EXPECT_EQ(FormatFaultMatch(Rule(R"pb(match {
                                         route: "/r/"
                                         methods: [ "GET", "POST" ]
                                         path_prefix: "/a/"
                                         path_exact: "/a/b"
                                         headers { name: "x-flag" kind: PRESENT }
                                         headers { name: "x-id" kind: PREFIX value: "ab" }
                                         clients: [ "10.0.0.0/8", "::1" ]
                                         upstream: "db:5432"
                                       })pb")
                                 .match()),
            "route=/r/ method=GET,POST path=/a/ exact-path=/a/b header:x-flag header:x-id=ab* "
            "client=10.0.0.0/8,::1 upstream=db:5432");
}

TEST(FaultFormatTest, EveryDelayAsTyped) {
  for (const auto& [typed, shown] : std::vector<std::pair<std::string, std::string>>{
           {"250ms", "delay 250ms"},
           {"fixed:1.5s", "delay 1.5s"},
           {"uniform:10ms-50ms", "delay uniform 10ms-50ms"},
           {"normal:mean=50ms,stddev=10ms", "delay normal mean=50ms stddev=10ms"},
           {"lognormal:p50=40ms,p99=900ms", "delay lognormal p50=40ms p99=900ms"},
           {"pareto:scale=10ms,shape=1.5,cap=2s", "delay pareto scale=10ms shape=1.5 cap=2s"},
           {"empirical:p0=5ms,p50=20ms,p99.9=2s", "delay empirical p0=5ms p50=20ms p99.9=2s"}}) {
    absl::StatusOr<proxynode::v1::DelayDistribution> distribution = ParseDelay(typed);
    ASSERT_TRUE(distribution.ok()) << typed;
    proxynode::v1::DelayFault delay;
    *delay.mutable_distribution() = *distribution;
    EXPECT_EQ(FormatDelayFault(delay), shown);
  }
  proxynode::v1::DelayFault head = Rule(
                                       "delay { distribution { fixed { seconds: 1 } } "
                                       "target: RESPONSE_HEAD }")
                                       .delay();
  EXPECT_EQ(FormatDelayFault(head), "delay 1s on head");
  head.set_target(proxynode::v1::DelayFault::FIRST_BYTE);
  EXPECT_EQ(FormatDelayFault(head), "delay 1s on first-byte");
}

TEST(FaultFormatTest, EveryAbortAsTyped) {
  for (const auto& [typed, shown] : std::vector<std::pair<std::string, std::string>>{
           {"503", "abort 503"},
           {"reset", "abort reset"},
           {"reset:after=1KiB", "abort reset after=1KiB"},
           {"close", "abort close"},
           {"cut:after=100", "abort cut after=100"},
           {"silent", "abort silent"}}) {
    absl::StatusOr<proxynode::v1::AbortFault> abort = ParseAbort(typed);
    ASSERT_TRUE(abort.ok()) << typed;
    EXPECT_EQ(FormatAbortFault(*abort), shown);
  }
  EXPECT_EQ(FormatAbortFault(Rule(R"pb(abort {
                                         kind: STATUS
                                         status: 429
                                         body: "x"
                                         headers { name: "A" value: "1" }
                                         headers { name: "B" value: "2" }
                                       })pb")
                                 .abort()),
            "abort 429 with body and 2 headers");
  EXPECT_EQ(FormatAbortFault(Rule("abort { kind: STATUS }").abort()), "abort 503");  // default
  EXPECT_EQ(FormatAbortFault({}), "");
}

TEST(FaultFormatTest, AllFaultsOfARule) {
  EXPECT_EQ(FormatFaults(Rule(R"pb(
              delay { distribution { fixed { nanos: 250000000 } } }
              abort { kind: STATUS status: 503 }
              bandwidth { bytes_per_second: 65536 scope: CONNECTION }
              header_triggers {
                enabled: true
                max_delay { seconds: 5 }
              }
              tag_response: true
            )pb")),
            "delay 250ms, abort 503, bandwidth 64KiB/s per connection, header triggers (max 5s), "
            "tag");
  EXPECT_EQ(FormatFaults(Rule("bandwidth { bytes_per_second: 1000000 scope: RULE }")),
            "bandwidth 1MB/s shared by the rule");
  EXPECT_EQ(FormatFaults(Rule("bandwidth { bytes_per_second: 1500 }")), "bandwidth 1500B/s");
  EXPECT_EQ(FormatFaults(Rule("header_triggers { enabled: true }")), "header triggers");
  EXPECT_EQ(FormatFaults({}), "none");
}

TEST(FaultFormatTest, PercentUnsetIsTheNodes100) {
  EXPECT_EQ(FormatPercent({}), "100%");
  EXPECT_EQ(FormatPercent(Rule("percent: 0.5")), "0.5%");
  EXPECT_EQ(FormatPercent(Rule("percent: 25")), "25%");
  EXPECT_EQ(FormatPercent(Rule("percent: 0")), "0%");
}

TEST(FaultFormatTest, TimeLeftCountsDownAndSaysExpired) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  auto expiring = [](absl::Time at) {
    FaultRule rule;
    rule.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(at));
    rule.mutable_expires_at()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(at - absl::FromUnixSeconds(absl::ToUnixSeconds(at)))));
    return rule;
  };
  EXPECT_EQ(FormatTimeLeft({}, now), "-");
  EXPECT_EQ(FormatTimeLeft(expiring(now + absl::Seconds(598.2)), now), "9m59s");  // rounded up
  EXPECT_EQ(FormatTimeLeft(expiring(now + absl::Minutes(10)), now), "10m0s");
  EXPECT_EQ(FormatTimeLeft(expiring(now + absl::Milliseconds(1)), now), "1s");
  EXPECT_EQ(FormatTimeLeft(expiring(now + absl::Hours(3)), now), "3h0m");
  EXPECT_EQ(FormatTimeLeft(expiring(now), now), "expired");
  EXPECT_EQ(FormatTimeLeft(expiring(now - absl::Seconds(5)), now), "expired");
}

TEST(FaultFormatTest, SummaryForFaultAdd) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  FaultRule rule = Rule(R"pb(
    match { path_prefix: "/api/" }
    percent: 25
    delay {
      distribution {
        lognormal {
          median { nanos: 40000000 }
          p99 { nanos: 900000000 }
        }
      }
    }
  )pb");
  EXPECT_EQ(FormatFaultSummary(rule, now),
            "match path=/api/; delay lognormal p50=40ms p99=900ms; 25%");
  rule.mutable_expires_at()->set_seconds(1'800'000'600);
  EXPECT_EQ(FormatFaultSummary(rule, now),
            "match path=/api/; delay lognormal p50=40ms p99=900ms; 25%; 10m0s left");
  EXPECT_EQ(FormatFaultSummary(rule, now + absl::Hours(1)),
            "match path=/api/; delay lognormal p50=40ms p99=900ms; 25%; expired");
}

}  // namespace
}  // namespace proxyctl
