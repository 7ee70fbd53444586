// The config file reloaded live, the way a ConfigMap update lands in a pod (symlink swap):
// applied without a restart, on open connections too; a bad file refused whole and logged,
// the running config kept; command-line flags keep overriding the file across reloads.

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/config_map_dir.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kReloadWait = 10s;

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The last whole line of `text` that contains `needle` ("" if none).
std::string LastLineWith(const std::string& text, const std::string& needle) {
  size_t at = text.rfind(needle);
  if (at == std::string::npos) return "";
  size_t begin = text.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

v1::NodeConfig GetConfigOrFail(ControlClient& control) {
  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  EXPECT_TRUE(status.ok()) << Describe(status);
  return config;
}

// The config version the node reports once it changes from `from` (or `from` after 10 s).
uint64_t WaitForVersionAfter(ControlClient& control, uint64_t from) {
  uint64_t version = from;
  WaitUntil(
      [&] {
        version = GetConfigOrFail(control).version();
        return version != from;
      },
      kReloadWait);
  return version;
}

TEST(ConfigReloadTest, SymlinkSwapIsAppliedWithoutRestart) {
  ConfigMapDirectory dir;
  dir.Publish("delay { seconds: 0 nanos: 250000000 }\nbody: \"first\\n\"\nworkers: 1\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + dir.file()}));
  ControlClient control(node.control_port());
  v1::NodeConfig before = GetConfigOrFail(control);
  ASSERT_EQ(before.version(), 1u);
  ASSERT_EQ(ToNanos(before.delay()), 250'000'000);

  // A keep-alive connection opened before the change is served by the new config after it.
  HttpClient client = ConnectTo(node.http_port());
  std::optional<HttpResponse> first = client.RoundTrip(GetRequest());
  ASSERT_TRUE(first) << client.error();
  EXPECT_EQ(first->body, "first\n");

  dir.Publish("delay { seconds: 0 }\nbody: \"second\\n\"\nworkers: 2\n");
  ASSERT_EQ(WaitForVersionAfter(control, 1), 2u) << node.Output();
  v1::NodeConfig after = GetConfigOrFail(control);
  EXPECT_EQ(ToNanos(after.delay()), 0);
  EXPECT_EQ(after.body(), "second\n");
  EXPECT_EQ(after.workers(), 2u);
  EXPECT_TRUE(node.WaitForOutput("\"message\":\"config file applied\"", 5s)) << node.Output();
  EXPECT_NE(node.Output().find("\"version\":2"), std::string::npos) << node.Output();

  std::optional<HttpResponse> second = client.RoundTrip(GetRequest());
  ASSERT_TRUE(second) << client.error();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "second\n");
  // Still the same process: nothing restarted.
  EXPECT_FALSE(node.WaitExit(0ms).has_value());
}

TEST(ConfigReloadTest, InvalidFilesAreRefusedAndTheRunningConfigStays) {
  ConfigMapDirectory dir;
  dir.Publish("delay { nanos: 1000000 }\nbody: \"kept\\n\"\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + dir.file()}));
  ControlClient control(node.control_port());
  ASSERT_EQ(GetConfigOrFail(control).version(), 1u);

  struct BadFile {
    std::string content;
    std::string mentions;  // in the logged error
  };
  const BadFile bad_files[] = {
      {"delay { seconds: -1 }\n", "delay"},                        // out of range
      {"workers: 0\n", "workers"},                                 // out of range
      {"delay { seconds: 1 \n", "config file"},                    // syntax error
      {"delay_typo { seconds: 1 }\n", "delay_typo"},               // unknown field
      {"{\"delay\": \"1s\", \"workerz\": 2}\n", "workerz"},        // JSON, unknown field
      {"body: \"b\"\nmax_header_bytes: 1\n", "max_header_bytes"},  // one bad field of two
  };
  for (const BadFile& bad : bad_files) {
    SCOPED_TRACE(bad.content);
    const size_t refusals_before = CountOf(node.Output(), "config file refused");
    dir.Publish(bad.content);
    ASSERT_TRUE(
        WaitUntil([&] { return CountOf(node.Output(), "config file refused") > refusals_before; },
                  kReloadWait))
        << node.Output();
    const std::string record = LastLineWith(node.Output(), "config file refused");
    EXPECT_NE(record.find(bad.mentions), std::string::npos) << record;
    EXPECT_NE(record.find("\"level\":\"error\""), std::string::npos) << record;

    v1::NodeConfig config = GetConfigOrFail(control);
    EXPECT_EQ(config.version(), 1u);
    EXPECT_EQ(config.body(), "kept\n");
    HttpClient client = ConnectTo(node.http_port());
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->body, "kept\n");
  }

  // A good file after the bad ones is applied.
  dir.Publish("delay { nanos: 1000000 }\nbody: \"fixed\\n\"\n");
  ASSERT_EQ(WaitForVersionAfter(control, 1), 2u) << node.Output();
  EXPECT_EQ(GetConfigOrFail(control).body(), "fixed\n");
}

// An emptied file (most likely one caught mid-rewrite) would reset every setting: refused.
TEST(ConfigReloadTest, AnEmptiedFileIsRefused) {
  ConfigMapDirectory dir;
  dir.Publish("body: \"kept\\n\"\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + dir.file()}));
  ControlClient control(node.control_port());
  dir.Publish("\n");
  ASSERT_TRUE(node.WaitForOutput("config file is empty; the running config stays", kReloadWait))
      << node.Output();
  v1::NodeConfig config = GetConfigOrFail(control);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(config.body(), "kept\n");
}

// A path that is not a regular file (here the ConfigMap's directory itself) is a start-up
// error, not an empty config.
TEST(ConfigReloadTest, ADirectoryIsNotAConfigFile) {
  ConfigMapDirectory dir;
  dir.Publish("workers: 1\n");
  NodeProcess node;
  ::testing::AssertionResult started = node.Start({"--config=" + dir.root().string()});
  ASSERT_FALSE(started);
  // Start() reaps a node that exits before its start-up line and says how it ended.
  EXPECT_NE(std::string(started.message()).find("exit 2"), std::string::npos) << started.message();
}

TEST(ConfigReloadTest, FlagsOnTheCommandLineStillOverrideTheFile) {
  ConfigMapDirectory dir;
  dir.Publish("delay { nanos: 2000000 }\nworkers: 2\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + dir.file(), "--workers=1"}));
  ControlClient control(node.control_port());
  ASSERT_EQ(GetConfigOrFail(control).workers(), 1u);

  dir.Publish("delay { nanos: 3000000 }\nworkers: 3\n");
  ASSERT_EQ(WaitForVersionAfter(control, 1), 2u) << node.Output();
  v1::NodeConfig config = GetConfigOrFail(control);
  EXPECT_EQ(ToNanos(config.delay()), 3'000'000);
  EXPECT_EQ(config.workers(), 1u);
}

TEST(ConfigReloadTest, WatchCanBeTurnedOff) {
  ConfigMapDirectory dir;
  dir.Publish("delay { nanos: 2000000 }\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + dir.file(), "--watch_config=false"}));
  ControlClient control(node.control_port());
  dir.Publish("delay { nanos: 3000000 }\n");
  // The node answers a control call after the change: were it watching, the reload (100 ms
  // after the event) would have landed well before this second's end.
  std::this_thread::sleep_for(1s);
  v1::NodeConfig config = GetConfigOrFail(control);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(ToNanos(config.delay()), 2'000'000);
}

}  // namespace
}  // namespace proxynode::testing
