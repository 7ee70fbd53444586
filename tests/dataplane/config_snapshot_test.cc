#include "dataplane/config_snapshot.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/clock.h"

namespace proxynode {
namespace {

constexpr Nanos kHour = 3600 * kSecond;

TEST(ConfigSnapshotTest, DefaultsAreValid) { EXPECT_TRUE(ValidateConfig(NodeConfig{}).ok()); }

struct Case {
  std::string name;
  std::function<void(NodeConfig&)> mutate;
  std::string field;  // the message must start with "<field>: "
  std::string range;  // and name the allowed range, e.g. "[1, 256]"
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

class OutOfRangeTest : public testing::TestWithParam<Case> {};

TEST_P(OutOfRangeTest, IsInvalidArgumentNamingFieldAndRange) {
  const Case& c = GetParam();
  NodeConfig config;
  c.mutate(config);
  const absl::Status status = ValidateConfig(config);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  const std::string message(status.message());
  EXPECT_EQ(message.rfind(c.field + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("out of range " + c.range), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    AllFields, OutOfRangeTest,
    testing::Values(
        Case{"NegativeDelay", [](NodeConfig& c) { c.delay = -1; }, "delay", "[0, 1h]"},
        Case{"DelayOverOneHour", [](NodeConfig& c) { c.delay = kHour + 1; }, "delay", "[0, 1h]"},
        Case{"BodyOverOneMiB", [](NodeConfig& c) { c.body.assign((1 << 20) + 1, 'x'); },
             "body (bytes)", "[0, 1048576]"},
        Case{"ZeroWorkers", [](NodeConfig& c) { c.workers = 0; }, "workers", "[1, 256]"},
        Case{"TooManyWorkers", [](NodeConfig& c) { c.workers = 257; }, "workers", "[1, 256]"},
        Case{"TooManyConnections", [](NodeConfig& c) { c.max_connections = 10'000'001; },
             "max_connections", "[0, 10000000]"},
        Case{"TooManyPending", [](NodeConfig& c) { c.max_pending = 10'000'001; }, "max_pending",
             "[0, 10000000]"},
        Case{"RateLimitTooHigh", [](NodeConfig& c) { c.rate_limit = 100'000'001; }, "rate_limit",
             "[0, 100000000]"},
        Case{"ZeroHeaderTimeout", [](NodeConfig& c) { c.header_timeout = 0; }, "header_timeout",
             "[1ms, 1h]"},
        Case{"SubMillisecondHeaderTimeout",
             [](NodeConfig& c) { c.header_timeout = kMillisecond - 1; }, "header_timeout",
             "[1ms, 1h]"},
        Case{"HeaderTimeoutOverOneHour", [](NodeConfig& c) { c.header_timeout = kHour + 1; },
             "header_timeout", "[1ms, 1h]"},
        Case{"ZeroIdleTimeout", [](NodeConfig& c) { c.idle_timeout = 0; }, "idle_timeout",
             "[1ms, 24h]"},
        Case{"IdleTimeoutOverOneDay", [](NodeConfig& c) { c.idle_timeout = 24 * kHour + 1; },
             "idle_timeout", "[1ms, 24h]"},
        Case{"HeaderBytesTooSmall", [](NodeConfig& c) { c.max_header_bytes = 100; },
             "max_header_bytes", "[256, 1048576]"},
        Case{"HeaderBytesTooLarge", [](NodeConfig& c) { c.max_header_bytes = (1 << 20) + 1; },
             "max_header_bytes", "[256, 1048576]"},
        Case{"BodyBytesTooLarge", [](NodeConfig& c) { c.max_body_bytes = (uint64_t{1} << 40) + 1; },
             "max_body_bytes", "[0, 1099511627776]"}),
    [](const testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

TEST(ConfigSnapshotTest, BoundariesAreValid) {
  std::vector<std::function<void(NodeConfig&)>> edges = {
      [](NodeConfig& c) { c.delay = 0; },
      [](NodeConfig& c) { c.delay = kHour; },
      [](NodeConfig& c) { c.body.clear(); },
      [](NodeConfig& c) { c.body.assign(1 << 20, 'x'); },
      [](NodeConfig& c) { c.workers = 1; },
      [](NodeConfig& c) { c.workers = 256; },
      [](NodeConfig& c) { c.max_connections = 10'000'000; },
      [](NodeConfig& c) { c.max_pending = 10'000'000; },
      [](NodeConfig& c) { c.rate_limit = 100'000'000; },
      [](NodeConfig& c) { c.header_timeout = kMillisecond; },
      [](NodeConfig& c) { c.header_timeout = kHour; },
      [](NodeConfig& c) { c.idle_timeout = kMillisecond; },
      [](NodeConfig& c) { c.idle_timeout = 24 * kHour; },
      [](NodeConfig& c) { c.max_header_bytes = 256; },
      [](NodeConfig& c) { c.max_header_bytes = 1 << 20; },
      [](NodeConfig& c) { c.max_body_bytes = 0; },
      [](NodeConfig& c) { c.max_body_bytes = uint64_t{1} << 40; },
      [](NodeConfig& c) { c.max_requests_per_connection = UINT32_MAX; },
  };
  for (size_t i = 0; i < edges.size(); ++i) {
    NodeConfig config;
    edges[i](config);
    EXPECT_TRUE(ValidateConfig(config).ok()) << "edge " << i << ": " << ValidateConfig(config);
  }
}

TEST(ConfigSnapshotTest, ExactMessages) {
  NodeConfig config;
  config.workers = 0;
  EXPECT_EQ(ValidateConfig(config).message(), "workers: 0 is out of range [1, 256]");

  config = NodeConfig{};
  config.max_header_bytes = 100;
  EXPECT_EQ(ValidateConfig(config).message(),
            "max_header_bytes: 100 is out of range [256, 1048576]");

  config = NodeConfig{};
  config.delay = -kMillisecond;
  EXPECT_EQ(ValidateConfig(config).message(), "delay: -1ms is out of range [0, 1h]");
}

TEST(ConfigSnapshotTest, ReportsTheFirstOffendingField) {
  NodeConfig config;
  config.workers = 0;
  config.max_header_bytes = 1;
  config.delay = -1;
  const absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()).rfind("delay: ", 0), 0u) << status;
}

TEST(ConfigSnapshotTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(100 * kMillisecond), "100ms");
  EXPECT_EQ(FormatDuration(1500 * kMillisecond), "1.5s");
  EXPECT_EQ(FormatDuration(kHour), "1h");
  EXPECT_EQ(FormatDuration(-kMillisecond), "-1ms");
}

}  // namespace
}  // namespace proxynode
