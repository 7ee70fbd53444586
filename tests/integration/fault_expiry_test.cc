// Fault rules that expire, against the real binary (issue 18): "An expiry must take effect
// within 50 ms of its time, even while the control client that set it is gone." The client
// that sets a rule is gone before its time (a gRPC channel of its own, destroyed; or a
// proxyctl process that exited). Another client then watches two things at once, every few
// milliseconds: the node's config (GetConfig), and requests the rule would hit. Both must
// change within 50 ms of expires_at, and neither before it:
//   - the config: a new version without the rule (the node removed it itself), taken at the
//     end of the GetConfig call that first shows it, an upper bound on when it happened;
//   - the traffic: the first response the rule no longer answers, at its arrival.
// Clocks: expires_at is wall-clock time, so the test reads the same clock (system_clock).

#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "tests/integration/fault_fixture.h"
#include "tests/testing/command.h"
#include "tests/testing/config_map_dir.h"
#include "tests/testing/fault_probe.h"

#ifndef PROXYCTL_BINARY
#error "PROXYCTL_BINARY must name the proxyctl executable (set by CMakeLists.txt)"
#endif

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using fault::Ending;
using fault::Exchange;

// The bound.
constexpr int64_t kExpiryBoundNs = 50'000'000;
constexpr int64_t kNsPerMs = 1'000'000;

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixNanos(const google::protobuf::Timestamp& at) {
  return at.seconds() * 1'000'000'000 + at.nanos();
}

google::protobuf::Timestamp TimestampAt(int64_t unix_nanos) {
  google::protobuf::Timestamp at;
  at.set_seconds(unix_nanos / 1'000'000'000);
  at.set_nanos(static_cast<int32_t>(unix_nanos % 1'000'000'000));
  return at;
}

// "2026-12-07T08:56:36.123456789Z"
std::string Rfc3339(int64_t unix_nanos) {
  const time_t seconds = static_cast<time_t>(unix_nanos / 1'000'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_nanos % 1'000'000'000));
  return text;
}

bool HasRule(const v1::NodeConfig& config, const std::string& name) {
  for (const v1::FaultRule& rule : config.faults()) {
    if (rule.name() == name) return true;
  }
  return false;
}

std::optional<v1::FaultRule> FindRule(const v1::NodeConfig& config, const std::string& name) {
  for (const v1::FaultRule& rule : config.faults()) {
    if (rule.name() == name) return rule;
  }
  return std::nullopt;
}

// Sets `rules` (mask "faults") through a channel of its own, which is closed before this
// returns: nothing of the client that set them is left. The config now in force in `*set`.
::testing::AssertionResult SetFaultsAndGo(uint16_t control_port,
                                          const std::vector<v1::FaultRule>& rules,
                                          v1::NodeConfig* set) {
  grpc::ChannelArguments arguments;
  // Its own connection, not one shared with the test's other channels.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(control_port), grpc::InsecureChannelCredentials(), arguments);
  std::unique_ptr<v1::ControlService::Stub> stub = v1::ControlService::NewStub(channel);
  v1::UpdateConfigRequest request;
  for (const v1::FaultRule& rule : rules) *request.mutable_config()->add_faults() = rule;
  request.mutable_update_mask()->add_paths("faults");
  v1::UpdateConfigResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::Status status = stub->UpdateConfig(&context, request, &response);
  if (!status.ok()) return ::testing::AssertionFailure() << Describe(status);
  *set = response.config();
  return ::testing::AssertionSuccess();
}

// What the watcher saw of one rule's expiry.
struct ExpiryWatch {
  std::string rule;
  int64_t expires_at = 0;  // unix ns
  // The end of the first GetConfig without the rule; 0: never seen.
  int64_t config_removed = 0;
  uint64_t version_after = 0;
  // The arrival of the first response the rule did not answer; 0: never seen.
  int64_t traffic_stopped = 0;
  std::vector<std::string> early;  // what changed before the rule's time
  std::vector<std::string> flaps;  // the rule answering again after it stopped
};

ExpiryWatch Watching(const std::string& rule, int64_t expires_at) {
  ExpiryWatch watch;
  watch.rule = rule;
  watch.expires_at = expires_at;
  return watch;
}

// Watches rules expire: polls GetConfig through `control` and sends GET `target(rule)` on a
// connection of its own per rule, every few milliseconds, until every rule is gone from the
// config and its traffic (or a deadline passes). A rule answers its requests with 503 (the
// test's rules do); anything else means it no longer applies.
void Watch(ControlClient& control, uint16_t http_port, std::vector<ExpiryWatch>& watches,
           const std::function<std::string(const std::string&)>& target) {
  int64_t last_expiry = 0;
  for (const ExpiryWatch& watch : watches) last_expiry = std::max(last_expiry, watch.expires_at);
  const int64_t give_up = last_expiry + 3'000 * kNsPerMs;
  std::vector<fault::Probe> probes(watches.size());
  for (fault::Probe& probe : probes) ASSERT_TRUE(probe.Connect(http_port));
  // A few more rounds after everything changed, to see nothing flap back.
  int rounds_after = 20;
  while (WallNowNs() < give_up && rounds_after > 0) {
    bool all_seen = true;
    v1::NodeConfig config;
    grpc::Status status = control.GetConfig(&config);
    const int64_t config_at = WallNowNs();
    ASSERT_TRUE(status.ok()) << Describe(status);
    for (size_t i = 0; i < watches.size(); ++i) {
      ExpiryWatch& watch = watches[i];
      if (!HasRule(config, watch.rule)) {
        if (watch.config_removed == 0) {
          watch.config_removed = config_at;
          watch.version_after = config.version();
          if (config_at < watch.expires_at) {
            watch.early.push_back("gone from the config " +
                                  std::to_string((watch.expires_at - config_at) / kNsPerMs) +
                                  " ms before its time");
          }
        }
      } else if (watch.config_removed != 0) {
        watch.flaps.push_back("back in the config");
      }
      const int64_t request_at = WallNowNs();
      Exchange exchange = probes[i].RoundTrip(Get(target(watch.rule)), 5s);
      const int64_t response_at = WallNowNs();
      ASSERT_EQ(exchange.ending, Ending::kOpen) << exchange.Describe();
      if (exchange.status() != 503) {
        if (watch.traffic_stopped == 0) {
          watch.traffic_stopped = response_at;
          if (response_at < watch.expires_at) {
            watch.early.push_back("a request answered without the rule " +
                                  std::to_string((watch.expires_at - response_at) / kNsPerMs) +
                                  " ms before its time");
          }
        }
      } else if (watch.traffic_stopped != 0 && request_at > watch.traffic_stopped) {
        watch.flaps.push_back("the rule answered again");
      }
      all_seen = all_seen && watch.config_removed != 0 && watch.traffic_stopped != 0;
    }
    if (all_seen) --rounds_after;
    std::this_thread::sleep_for(2ms);
  }
}

void ExpectOnTime(const ExpiryWatch& watch) {
  SCOPED_TRACE("rule " + watch.rule);
  EXPECT_TRUE(watch.early.empty()) << watch.early.front();
  EXPECT_TRUE(watch.flaps.empty()) << watch.flaps.front();
  ASSERT_NE(watch.config_removed, 0) << "the node never removed the rule";
  ASSERT_NE(watch.traffic_stopped, 0) << "the rule never stopped applying";
  const int64_t config_late = watch.config_removed - watch.expires_at;
  const int64_t traffic_late = watch.traffic_stopped - watch.expires_at;
  EXPECT_LE(config_late, kExpiryBoundNs)
      << "removed from the config " << static_cast<double>(config_late) / 1e6
      << " ms after its time";
  EXPECT_LE(traffic_late, kExpiryBoundNs)
      << "stopped applying " << static_cast<double>(traffic_late) / 1e6 << " ms after its time";
  std::printf("[ expiry   ] %s: config %.1f ms, traffic %.1f ms after expires_at\n",
              watch.rule.c_str(), static_cast<double>(config_late) / 1e6,
              static_cast<double>(traffic_late) / 1e6);
}

// A rule that answers 503 on path_prefix "/<name>".
v1::FaultRule ExpiringRule(const std::string& name) {
  v1::FaultRule rule = StatusRule(name, 503);
  rule.mutable_match()->set_path_prefix("/" + name);
  return rule;
}

std::string TargetOf(const std::string& rule) { return "/" + rule; }

class FaultExpiryTest : public FaultFixture {};

TEST_F(FaultExpiryTest, ARuleIsRemovedWithin50msOfItsTimeWhileItsClientIsGone) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = ExpiringRule("brief");
  *rule.mutable_expires_after() = Millis(600);
  v1::FaultRule keeper = ExpiringRule("keeper");  // no expiry: stays
  v1::NodeConfig set;
  ASSERT_TRUE(SetFaultsAndGo(proxy_.control_port(), {rule, keeper}, &set));
  std::optional<v1::FaultRule> kept = FindRule(set, "brief");
  ASSERT_TRUE(kept && kept->has_expires_at()) << set.ShortDebugString();
  EXPECT_FALSE(kept->has_expires_after()) << "expires_after is never returned";
  std::vector<ExpiryWatch> watches = {Watching("brief", UnixNanos(kept->expires_at()))};
  // expires_after counts from when the update applied: now, give or take the call.
  EXPECT_GT(watches[0].expires_at, WallNowNs() + 400 * kNsPerMs);
  EXPECT_LE(watches[0].expires_at, WallNowNs() + 600 * kNsPerMs);

  ControlClient watcher(proxy_.control_port());
  Watch(watcher, proxy_.http_port(), watches, TargetOf);
  ExpectOnTime(watches[0]);

  // A change of its own: the next version, the other rule kept, and a log line naming it.
  EXPECT_EQ(watches[0].version_after, set.version() + 1);
  v1::NodeConfig after;
  ASSERT_TRUE(watcher.GetConfig(&after).ok());
  EXPECT_EQ(after.version(), set.version() + 1);
  ASSERT_EQ(after.faults_size(), 1);
  EXPECT_EQ(after.faults(0).name(), "keeper");
  EXPECT_EQ(Fetch("/keeper").status(), 503);
  EXPECT_TRUE(proxy_.WaitForOutput("fault rules expired and removed", 2s)) << proxy_.Output();
  EXPECT_NE(proxy_.Output().find("brief"), std::string::npos);
}

TEST_F(FaultExpiryTest, ExpiresAtRemovesTheRuleAtThatTime) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = ExpiringRule("until");
  const int64_t at = WallNowNs() + 500 * kNsPerMs;
  *rule.mutable_expires_at() = TimestampAt(at);
  v1::NodeConfig set;
  ASSERT_TRUE(SetFaultsAndGo(proxy_.control_port(), {rule}, &set));
  std::optional<v1::FaultRule> kept = FindRule(set, "until");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(UnixNanos(kept->expires_at()), at);
  std::vector<ExpiryWatch> watches = {Watching("until", at)};
  ControlClient watcher(proxy_.control_port());
  Watch(watcher, proxy_.http_port(), watches, TargetOf);
  ExpectOnTime(watches[0]);
  EXPECT_EQ(watches[0].version_after, set.version() + 1);
}

// Rules expiring at different times each go at their own, including one that expires
// sooner than a rule set before it (the node must wake earlier than it planned to).
TEST_F(FaultExpiryTest, EachRuleGoesAtItsOwnTime) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule later = ExpiringRule("later");
  *later.mutable_expires_after() = Millis(1200);
  v1::NodeConfig set;
  ASSERT_TRUE(SetFaultsAndGo(proxy_.control_port(), {later}, &set));
  std::optional<v1::FaultRule> later_kept = FindRule(set, "later");
  ASSERT_TRUE(later_kept.has_value());

  v1::FaultRule sooner = ExpiringRule("sooner");
  *sooner.mutable_expires_after() = Millis(500);
  v1::FaultRule forever = ExpiringRule("forever");
  // `later` as the node keeps it: its expires_at, not a new expires_after.
  ASSERT_TRUE(SetFaultsAndGo(proxy_.control_port(), {*later_kept, sooner, forever}, &set));
  std::optional<v1::FaultRule> sooner_kept = FindRule(set, "sooner");
  ASSERT_TRUE(sooner_kept.has_value());
  EXPECT_EQ(UnixNanos(FindRule(set, "later")->expires_at()), UnixNanos(later_kept->expires_at()));

  std::vector<ExpiryWatch> watches = {Watching("sooner", UnixNanos(sooner_kept->expires_at())),
                                      Watching("later", UnixNanos(later_kept->expires_at()))};
  ControlClient watcher(proxy_.control_port());
  Watch(watcher, proxy_.http_port(), watches, TargetOf);
  ExpectOnTime(watches[0]);
  ExpectOnTime(watches[1]);
  EXPECT_EQ(watches[0].version_after, set.version() + 1);
  EXPECT_EQ(watches[1].version_after, set.version() + 2);
  v1::NodeConfig after;
  ASSERT_TRUE(watcher.GetConfig(&after).ok());
  ASSERT_EQ(after.faults_size(), 1);
  EXPECT_EQ(after.faults(0).name(), "forever");
}

// A user's CI: proxyctl adds the rule and exits; nothing is connected when its time comes.
TEST_F(FaultExpiryTest, ARuleAddedByProxyctlThatExitedIsRemovedWithin50msOfItsTime) {
  ASSERT_TRUE(StartFaultNode());
  const int64_t at = WallNowNs() + 1500 * kNsPerMs;
  const std::filesystem::path dir = ::testing::TempDir();
  CommandResult added =
      RunCommand({PROXYCTL_BINARY, "--addr", "127.0.0.1:" + std::to_string(proxy_.control_port()),
                  "fault", "add", "ci", "--path", "/ci", "--abort", "503", "--until", Rfc3339(at)},
                 dir);
  ASSERT_TRUE(added.exit && added.exit->exited && added.exit->code == 0) << added;
  ASSERT_LT(WallNowNs(), at) << "proxyctl took longer than the rule's life";

  ControlClient watcher(proxy_.control_port());
  v1::NodeConfig set;
  ASSERT_TRUE(watcher.GetConfig(&set).ok());
  std::optional<v1::FaultRule> kept = FindRule(set, "ci");
  ASSERT_TRUE(kept.has_value()) << set.ShortDebugString();
  EXPECT_EQ(UnixNanos(kept->expires_at()), at);
  std::vector<ExpiryWatch> watches = {Watching("ci", at)};
  Watch(watcher, proxy_.http_port(), watches, TargetOf);
  ExpectOnTime(watches[0]);
  EXPECT_EQ(watches[0].version_after, set.version() + 1);
}

// A rule whose time has already passed is never applied, and goes at once. The watcher
// exists before the rule is set, so that what is timed is the node's removal, not a client
// starting (slow under the sanitizers).
TEST_F(FaultExpiryTest, ARuleSetAfterItsTimeNeverAppliesAndGoesAtOnce) {
  ASSERT_TRUE(StartFaultNode());
  ControlClient watcher(proxy_.control_port());
  v1::NodeConfig before;
  ASSERT_TRUE(watcher.GetConfig(&before).ok());
  v1::FaultRule rule = ExpiringRule("stale");
  *rule.mutable_expires_at() = TimestampAt(WallNowNs() - 1000 * kNsPerMs);
  v1::NodeConfig set;
  ASSERT_TRUE(SetFaultsAndGo(proxy_.control_port(), {rule}, &set));
  // Gone by the first look (the node removed it while the setting client was still closing
  // its channel), or within the bound of that look.
  const int64_t set_at = WallNowNs();
  int64_t gone_at = 0;
  int looks = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        ++looks;
        v1::NodeConfig config;
        if (!watcher.GetConfig(&config).ok() || HasRule(config, "stale")) return false;
        gone_at = WallNowNs();
        return true;
      },
      1s, 2ms));
  if (looks > 1) {
    EXPECT_LE(gone_at - set_at, kExpiryBoundNs + 50 * kNsPerMs);
  }
  EXPECT_EQ(Fetch("/stale").status(), 200) << "an expired rule applied";
  EXPECT_EQ(RuleStats("stale").fired(), 0u);
}

// A rule in the config file the node starts with expires the same way, and stays gone: the
// file still names it, but nothing reads it back in until the file changes.
TEST_F(FaultExpiryTest, ARuleFromTheStartupConfigFileExpiresAndStaysGone) {
  ConfigMapDirectory dir;
  dir.Publish(
      "faults {\n"
      "  name: \"from-file\"\n"
      "  match { path_prefix: \"/from-file\" }\n"
      "  abort { kind: STATUS status: 503 }\n"
      "  expires_after { nanos: 800000000 }\n"
      "}\n");
  ASSERT_TRUE(StartFaultNode({"--config=" + dir.file()}));
  v1::NodeConfig set;
  ASSERT_TRUE(control_->GetConfig(&set).ok());
  std::optional<v1::FaultRule> kept = FindRule(set, "from-file");
  ASSERT_TRUE(kept.has_value()) << set.ShortDebugString();
  ASSERT_TRUE(kept->has_expires_at());
  ASSERT_LT(WallNowNs(), UnixNanos(kept->expires_at())) << "the node took too long to start";
  std::vector<ExpiryWatch> watches = {Watching("from-file", UnixNanos(kept->expires_at()))};
  Watch(*control_, proxy_.http_port(), watches, TargetOf);
  ExpectOnTime(watches[0]);
  EXPECT_EQ(watches[0].version_after, set.version() + 1);

  std::this_thread::sleep_for(1s);
  v1::NodeConfig later;
  ASSERT_TRUE(control_->GetConfig(&later).ok());
  EXPECT_FALSE(HasRule(later, "from-file")) << "the expired rule came back from the file";
  EXPECT_EQ(later.version(), set.version() + 1);
  EXPECT_EQ(Fetch("/from-file").status(), 200);
}

}  // namespace
}  // namespace proxynode::testing
