// The configuration as the control plane shows and changes it: start-up values (flags and
// config files), refused updates that change nothing, and optimistic concurrency through
// expected_version.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/command.h"
#include "tests/testing/control_client.h"
#include "tests/testing/node_process.h"

#ifndef PROXYNODE_BINARY
#error "PROXYNODE_BINARY must name the proxynode executable (set by CMakeLists.txt)"
#endif

extern char** environ;

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1'000'000;  // nanoseconds

// The node's defaults for what the tests below do not set.
constexpr int64_t kDefaultHeaderTimeout = 10'000 * kMs;
constexpr int64_t kDefaultIdleTimeout = 60'000 * kMs;
constexpr uint32_t kDefaultMaxHeaderBytes = 8192;
constexpr uint64_t kDefaultMaxBodyBytes = 1 << 20;

uint32_t DefaultWorkers() { return std::max(1u, std::thread::hardware_concurrency()); }

// Every field of a NodeConfig, for messages.
std::string Text(const v1::NodeConfig& config) { return config.ShortDebugString(); }

TEST(ControlConfigTest, GetConfigReturnsTheStartupValuesAtVersionOne) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=50ms", "--workers=2", "--max_connections=100"}));
  ControlClient control(node.control_port());

  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  ASSERT_TRUE(status.ok()) << Describe(status);
  // GetConfig returns every field, so every one has presence.
  ASSERT_TRUE(config.has_version() && config.has_delay() && config.has_body() &&
              config.has_workers() && config.has_max_connections() && config.has_max_pending() &&
              config.has_rate_limit() && config.has_header_timeout() && config.has_idle_timeout() &&
              config.has_max_header_bytes() && config.has_max_body_bytes() &&
              config.has_max_requests_per_connection())
      << Text(config);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(ToNanos(config.delay()), 50 * kMs);
  EXPECT_EQ(config.workers(), 2u);
  EXPECT_EQ(config.max_connections(), 100u);
  // The rest keeps the defaults.
  EXPECT_EQ(config.body(), "Hello World\n");
  EXPECT_EQ(config.max_pending(), 0u);
  EXPECT_EQ(config.rate_limit(), 0u);
  EXPECT_EQ(ToNanos(config.header_timeout()), kDefaultHeaderTimeout);
  EXPECT_EQ(ToNanos(config.idle_timeout()), kDefaultIdleTimeout);
  EXPECT_EQ(config.max_header_bytes(), kDefaultMaxHeaderBytes);
  EXPECT_EQ(config.max_body_bytes(), kDefaultMaxBodyBytes);
  EXPECT_EQ(config.max_requests_per_connection(), 0u);

  v1::Stats stats;
  status = control.GetStats(&stats);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(stats.config_version(), 1u);
  EXPECT_EQ(stats.workers(), 2u);
  EXPECT_FALSE(stats.draining());
}

// One refused update: what it sends and a word its message must contain.
struct RefusedUpdate {
  std::string name;
  v1::NodeConfig config;
  std::vector<std::string> paths;
  std::string message_mentions;
};

std::vector<RefusedUpdate> RefusedUpdates() {
  std::vector<RefusedUpdate> cases;
  auto add = [&cases](std::string name, std::vector<std::string> paths, std::string mentions,
                      auto fill) {
    RefusedUpdate refused{std::move(name), {}, std::move(paths), std::move(mentions)};
    fill(refused.config);
    cases.push_back(std::move(refused));
  };
  add("negative delay", {"delay"}, "delay",
      [](v1::NodeConfig& c) { *c.mutable_delay() = Millis(-5); });
  add("delay of ten years", {"delay"}, "delay",
      [](v1::NodeConfig& c) { c.mutable_delay()->set_seconds(10LL * 365 * 24 * 3600); });
  add("malformed delay", {"delay"}, "delay", [](v1::NodeConfig& c) {
    c.mutable_delay()->set_seconds(1);
    c.mutable_delay()->set_nanos(-1);
  });
  add("zero workers", {"workers"}, "workers", [](v1::NodeConfig& c) { c.set_workers(0); });
  add("a million workers", {"workers"}, "workers",
      [](v1::NodeConfig& c) { c.set_workers(1'000'000); });
  add("workers in the mask but not in the message", {"workers"}, "workers", [](v1::NodeConfig&) {});
  add("unknown mask path", {"no_such_field"}, "no_such_field",
      [](v1::NodeConfig& c) { c.set_workers(3); });
  add("sub-field path", {"delay.seconds"}, "delay.seconds",
      [](v1::NodeConfig& c) { *c.mutable_delay() = Millis(1000); });
  add("empty mask", {}, "update_mask", [](v1::NodeConfig& c) { c.set_workers(3); });
  add("version in the mask", {"version"}, "version", [](v1::NodeConfig& c) { c.set_version(7); });
  add("zero header_timeout", {"header_timeout"}, "header_timeout",
      [](v1::NodeConfig& c) { *c.mutable_header_timeout() = Millis(0); });
  add("idle_timeout over a day", {"idle_timeout"}, "idle_timeout",
      [](v1::NodeConfig& c) { c.mutable_idle_timeout()->set_seconds(24 * 3600 + 1); });
  add("max_header_bytes under 256", {"max_header_bytes"}, "max_header_bytes",
      [](v1::NodeConfig& c) { c.set_max_header_bytes(255); });
  add("max_connections over 10 million", {"max_connections"}, "max_connections",
      [](v1::NodeConfig& c) { c.set_max_connections(10'000'001); });
  add("max_body_bytes over 2^40", {"max_body_bytes"}, "max_body_bytes",
      [](v1::NodeConfig& c) { c.set_max_body_bytes((uint64_t{1} << 40) + 1); });
  add("body over 1 MiB", {"body"}, "body",
      [](v1::NodeConfig& c) { c.set_body(std::string((1 << 20) + 1, 'x')); });
  // A valid change next to an invalid one: refused whole.
  add("valid delay with zero workers", {"delay", "workers"}, "workers", [](v1::NodeConfig& c) {
    *c.mutable_delay() = Millis(0);
    c.set_workers(0);
  });
  add("valid body with unknown path", {"body", "bogus"}, "bogus",
      [](v1::NodeConfig& c) { c.set_body("changed\n"); });
  add("valid rate_limit with negative delay", {"rate_limit", "delay"}, "delay",
      [](v1::NodeConfig& c) {
        c.set_rate_limit(5);
        *c.mutable_delay() = Millis(-1);
      });
  return cases;
}

TEST(ControlConfigTest, InvalidUpdatesAreRefusedWholeAndTheVersionStays) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=50ms", "--workers=2"}));
  ControlClient control(node.control_port());
  v1::NodeConfig before;
  grpc::Status status = control.GetConfig(&before);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(before.version(), 1u);

  for (const RefusedUpdate& refused : RefusedUpdates()) {
    SCOPED_TRACE(refused.name);
    v1::UpdateConfigResponse response;
    status = control.Update(refused.config, refused.paths, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_NE(status.error_message().find(refused.message_mentions), std::string::npos)
        << "message does not mention \"" << refused.message_mentions
        << "\": " << status.error_message();

    v1::NodeConfig after;
    status = control.GetConfig(&after);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(Text(after), Text(before)) << "a refused update changed the config";
  }

  // The node still takes a valid update, at the next version.
  v1::NodeConfig change;
  change.set_workers(3);
  v1::UpdateConfigResponse response;
  status = control.Update(change, {"workers"}, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().version(), 2u);
  EXPECT_EQ(response.config().workers(), 3u);
}

TEST(ControlConfigTest, ExpectedVersionLetsExactlyOneOfTwoUpdatesThrough) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const uint64_t start = config.version();

  // One after the other, both expecting the version read above.
  v1::NodeConfig first;
  first.set_body("first\n");
  v1::UpdateConfigResponse response;
  status = control.Update(first, {"body"}, &response, start);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().version(), start + 1);
  v1::NodeConfig second;
  second.set_body("second\n");
  status = control.Update(second, {"body"}, &response, start);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
  status = control.GetConfig(&config);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(config.version(), start + 1);
  EXPECT_EQ(config.body(), "first\n");

  // Concurrently from two threads, a few rounds: always exactly one wins.
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    status = control.GetConfig(&config);
    ASSERT_TRUE(status.ok()) << Describe(status);
    const uint64_t expected = config.version();
    std::atomic<bool> go{false};
    grpc::Status results[2];
    std::thread racers[2];
    for (int i = 0; i < 2; ++i) {
      racers[i] = std::thread([&, i] {
        v1::NodeConfig mine;
        // A new body every round: an update equal to the running config changes nothing
        // and would pass whatever version it expects.
        mine.set_body("round " + std::to_string(round) + " racer " + std::to_string(i) + "\n");
        while (!go.load()) {
        }
        results[i] = control.Update(mine, {"body"}, nullptr, expected);
      });
    }
    go.store(true);
    for (std::thread& racer : racers) {
      racer.join();
    }
    int ok = 0;
    int refused = 0;
    int winner = -1;
    for (int i = 0; i < 2; ++i) {
      if (results[i].ok()) {
        ++ok;
        winner = i;
      } else if (results[i].error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        ++refused;
      } else {
        ADD_FAILURE() << "racer " << i << ": " << Describe(results[i]);
      }
    }
    EXPECT_EQ(ok, 1);
    EXPECT_EQ(refused, 1);
    status = control.GetConfig(&config);
    ASSERT_TRUE(status.ok()) << Describe(status);
    EXPECT_EQ(config.version(), expected + 1);
    if (winner >= 0) {
      EXPECT_EQ(config.body(),
                "round " + std::to_string(round) + " racer " + std::to_string(winner) + "\n");
    }
  }
}

// Runs the node with `flags` (listeners on port 0) to its exit: a refused start.
CommandResult RunToExit(const std::vector<std::string>& flags, const std::filesystem::path& dir) {
  std::vector<std::string> args = {PROXYNODE_BINARY, "--http_listen=127.0.0.1:0",
                                   "--admin_listen=127.0.0.1:0", "--control_listen=127.0.0.1:0"};
  args.insert(args.end(), flags.begin(), flags.end());
  return RunCommand(args, dir, std::chrono::seconds(10));
}

class ControlConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "control_config_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes `text` to a file named `name` in the test's directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::filesystem::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Starts a node that must refuse `file_text` as its config: Start fails, the node exits 2
  // and says why on stderr, naming `mentions`.
  void ExpectRefused(const std::string& name, const std::string& file_text,
                     const std::string& mentions) {
    SCOPED_TRACE(name + ": " + file_text);
    std::string path = WriteFile(name, file_text);
    {
      NodeProcess node;
      ::testing::AssertionResult started = node.Start({"--config=" + path, "--delay=0s"});
      EXPECT_FALSE(started);
      // Start() reaps a node that exits before its start-up line and names how it ended;
      // WaitExit covers a node that is somehow still running.
      if (std::optional<ExitStatus> exit = node.WaitExit(5s)) {
        EXPECT_EQ(exit->ToString(), "exit 2");
      } else {
        EXPECT_NE(std::string(started.message()).find("; exit 2"), std::string::npos)
            << started.message();
      }
    }
    // Once more with stderr captured, for the message.
    CommandResult failed = RunToExit({"--config=" + path, "--delay=0s"}, dir_);
    ASSERT_TRUE(failed.exit) << "still running";
    EXPECT_EQ(failed.exit->ToString(), "exit 2");
    EXPECT_NE(failed.err.find(mentions), std::string::npos)
        << "stderr does not mention \"" << mentions << "\": " << failed.err;
    EXPECT_NE(failed.err.find(path), std::string::npos)
        << "stderr does not name the file: " << failed.err;
  }

  std::filesystem::path dir_;
};

v1::NodeConfig ConfigOf(NodeProcess& node) {
  ControlClient control(node.control_port());
  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  EXPECT_TRUE(status.ok()) << Describe(status);
  return config;
}

TEST_F(ControlConfigFileTest, TextFormatFileSetsWhatItNames) {
  std::string path =
      WriteFile("node.textproto", "delay { nanos: 5000000 } workers: 1 body: \"from file\\n\"\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + path}));
  v1::NodeConfig config = ConfigOf(node);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(ToNanos(config.delay()), 5 * kMs);
  EXPECT_EQ(config.workers(), 1u);
  EXPECT_EQ(config.body(), "from file\n");
  EXPECT_EQ(ToNanos(config.idle_timeout()), kDefaultIdleTimeout);  // not named: the default

  // And the data plane serves it.
  HttpClient client = ConnectTo(node.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, "from file\n");
}

TEST_F(ControlConfigFileTest, FlagOnTheCommandLineOverridesTheFile) {
  std::string path =
      WriteFile("node.textproto", "delay { nanos: 5000000 } workers: 1 body: \"from file\\n\"\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + path, "--delay=70ms"}));
  v1::NodeConfig config = ConfigOf(node);
  EXPECT_EQ(ToNanos(config.delay()), 70 * kMs);
  EXPECT_EQ(config.body(), "from file\n");
  EXPECT_EQ(config.workers(), 1u);
}

TEST_F(ControlConfigFileTest, JsonFileWorksToo) {
  std::string path = WriteFile("node.json", R"({"delay": "0.005s", "body": "json\n"})");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + path}));
  v1::NodeConfig config = ConfigOf(node);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(ToNanos(config.delay()), 5 * kMs);
  EXPECT_EQ(config.body(), "json\n");
  EXPECT_EQ(config.workers(), DefaultWorkers());
}

TEST_F(ControlConfigFileTest, BadValuesAndUnknownFieldsMakeTheNodeExitTwo) {
  ExpectRefused("zero_workers.textproto", "workers: 0\n", "workers");
  ExpectRefused("negative_delay.textproto", "delay { nanos: -5000000 }\n", "delay");
  ExpectRefused("unknown.textproto", "no_such_field: 1\n", "no_such_field");
  ExpectRefused("zero_workers.json", R"({"workers": 0})", "workers");
  ExpectRefused("unknown.json", R"({"noSuchField": 1})", "noSuchField");
  ExpectRefused("syntax.textproto", "workers: \n", "config");
}

}  // namespace
}  // namespace proxynode::testing
