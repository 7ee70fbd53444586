// Fault rules through the API: every field survives a round trip, text-format config files
// carry them, expires_after becomes an absolute expiry, and each refusal names its field.

#include "controlplane/fault_translator.h"

#include <string>

#include "controlplane/config_translator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

using ::testing::HasSubstr;

google::protobuf::FieldMask FaultsMask() {
  google::protobuf::FieldMask mask;
  mask.add_paths("faults");
  return mask;
}

absl::StatusOr<NodeConfig> ApplyText(const std::string& text) {
  absl::StatusOr<v1::NodeConfig> proto = ParseConfigText(text);
  if (!proto.ok()) return proto.status();
  return ApplyFieldMask(NodeConfig{}, *proto, FaultsMask());
}

TEST(FaultTranslationTest, EveryFieldSurvivesARoundTrip) {
  absl::StatusOr<NodeConfig> config = ApplyText(R"pb(
    faults {
      name: "slow-api"
      match {
        methods: "get"
        methods: "POST"
        path_prefix: "/api/"
        headers { name: "X-User" kind: EXACT value: "test" }
        clients: "10.0.0.0/8"
        clients: "::1"
      }
      percent: 25.5
      delay {
        distribution {
          lognormal {
            median { nanos: 40000000 }
            p99 { nanos: 900000000 }
          }
        }
        target: FIRST_BYTE
      }
      abort {
        kind: STATUS
        status: 429
        body: "slow down"
        headers { name: "Retry-After" value: "3" }
        grpc_status: 8
        grpc_message: "slow down, caller"
      }
      bandwidth { bytes_per_second: 65536 scope: RULE }
      header_triggers {
        enabled: true
        max_delay { seconds: 2 }
      }
      expires_at { seconds: 2000000000 }
      tag_response: true
    }
  )pb");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->faults.size(), 1u);
  const FaultRule& rule = config->faults[0];
  EXPECT_EQ(rule.match.methods, *MethodBit("GET") | *MethodBit("POST"));
  EXPECT_EQ(rule.match.headers[0].name, "x-user");
  EXPECT_EQ(rule.match.clients[1].prefix_length, 128);
  EXPECT_DOUBLE_EQ(rule.percent, 25.5);
  EXPECT_EQ(rule.delay->distribution.shape, DelayShape::kLogNormal);
  EXPECT_EQ(rule.delay->distribution.p99, 900 * kMillisecond);
  EXPECT_EQ(rule.delay->target, DelayTarget::kFirstByte);
  EXPECT_EQ(rule.abort.kind, AbortKind::kStatus);
  EXPECT_EQ(rule.abort.grpc_status, 8);
  EXPECT_EQ(rule.abort.grpc_message, "slow down, caller");
  EXPECT_EQ(rule.bandwidth.scope, BandwidthScope::kRule);
  EXPECT_EQ(rule.header_triggers.max_delay, 2 * kSecond);
  EXPECT_EQ(rule.expires_at_unix_nanos, int64_t{2'000'000'000} * kSecond);

  // Out and back in: the same rule.
  v1::NodeConfig out = ToProto(*config);
  absl::StatusOr<NodeConfig> again = ApplyFieldMask(NodeConfig{}, out, FaultsMask());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->faults, config->faults);
}

TEST(FaultTranslationTest, EveryDistributionSurvivesARoundTrip) {
  for (const char* distribution : {
           "fixed { nanos: 5000000 }",
           "uniform { low { nanos: 1000000 } high { nanos: 9000000 } }",
           "normal { mean { nanos: 50000000 } stddev { nanos: 10000000 } }",
           "pareto { scale { nanos: 10000000 } shape: 1.5 cap { seconds: 2 } }",
           "empirical { points { percentile: 50 value { nanos: 20000000 } } "
           "points { percentile: 99.9 value { seconds: 2 } } }",
       }) {
    absl::StatusOr<NodeConfig> config = ApplyText(
        absl::StrCat("faults { name: \"r\" delay { distribution { ", distribution, " } } }"));
    ASSERT_TRUE(config.ok()) << distribution << ": " << config.status();
    absl::StatusOr<NodeConfig> again = ApplyFieldMask(NodeConfig{}, ToProto(*config), FaultsMask());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->faults, config->faults) << distribution;
  }
}

TEST(FaultTranslationTest, ExpiresAfterCountsFromTheUpdate) {
  const int64_t before = absl::ToUnixNanos(absl::Now());
  absl::StatusOr<NodeConfig> config =
      ApplyText("faults { name: \"r\" abort { kind: CLOSE } expires_after { seconds: 600 } }");
  ASSERT_TRUE(config.ok()) << config.status();
  const int64_t expiry = config->faults[0].expires_at_unix_nanos;
  EXPECT_GE(expiry, before + 600 * kSecond);
  EXPECT_LE(expiry, absl::ToUnixNanos(absl::Now()) + 600 * kSecond);
  EXPECT_FALSE(ToProto(*config).faults(0).has_expires_after());
}

TEST(FaultTranslationTest, RefusalsNameTheField) {
  struct Case {
    const char* text;
    const char* field;
  };
  for (const Case& c : {
           Case{"faults { name: \"a b\" abort { kind: CLOSE } }", "faults[0].name"},
           Case{"faults { name: \"r\" }", "faults[0]: no fault"},
           Case{"faults { name: \"r\" percent: 101 abort { kind: CLOSE } }", "faults[0].percent"},
           Case{"faults { name: \"r\" abort { kind: STATUS status: 99 } }",
                "faults[0].abort.status"},
           Case{"faults { name: \"r\" abort { kind: STATUS grpc_status: 17 } }",
                "faults[0].abort.grpc_status"},
           Case{"faults { name: \"r\" abort { kind: STATUS grpc_status: 4294967295 } }",
                "faults[0].abort.grpc_status"},
           Case{"faults { name: \"r\" abort { kind: RESET grpc_status: 14 } }",
                "faults[0].abort.grpc_status"},
           Case{"faults { name: \"r\" abort { kind: STATUS grpc_message: \"m\" } }",
                "faults[0].abort.grpc_message"},
           Case{"faults { name: \"r\" abort { kind: STATUS headers { name: \"Content-Length\" "
                "value: \"1\" } } }",
                "faults[0].abort.headers[0]"},
           Case{"faults { name: \"r\" match { methods: \"FETCH\" } abort { kind: CLOSE } }",
                "faults[0].match.methods[0]"},
           Case{"faults { name: \"r\" match { clients: \"10.1.0.0/8\" } abort { kind: CLOSE } }",
                "faults[0].match.clients[0]"},
           Case{"faults { name: \"r\" match { route: \"/nope/\" } abort { kind: CLOSE } }",
                "faults[0].match.route"},
           Case{"faults { name: \"r\" delay { distribution { lognormal { median { seconds: 2 } "
                "p99 { seconds: 1 } } } } }",
                "faults[0].delay"},
           Case{"faults { name: \"r\" delay { } abort { kind: CLOSE } } faults { name: \"r\" "
                "abort { kind: CLOSE } }",
                "faults[1].name"},
       }) {
    absl::StatusOr<NodeConfig> config = ApplyText(c.text);
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.field)) << c.text;
  }
}

}  // namespace
}  // namespace proxynode
