// The access log against the real binary: one JSON line per request with what a user needs
// to find it (time, peer, method, target, status, sizes, duration, injected delay, route,
// upstream, upstream time, fault rule), requests the client gave up on, sampling, stdout
// beside the node's own log, and a destination that cannot be opened.

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/command.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

#ifndef PROXYNODE_BINARY
#error "PROXYNODE_BINARY must name the proxynode executable (set by CMakeLists.txt)"
#endif

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

std::vector<std::string> LinesOf(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t start = 0, end; start < text.size(); start = end + 1) {
    end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

// The lines of `path` once there are at least `count` (the writer flushes every 20 ms).
std::vector<std::string> WaitForLines(const std::filesystem::path& path, size_t count) {
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    lines = LinesOf(ReadTextFile(path));
    if (lines.size() >= count) break;
    std::this_thread::sleep_for(10ms);
  }
  return lines;
}

class AccessLogNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    std::filesystem::remove(log_);
  }
  // One directory per test: ctest runs the tests of this file in parallel.
  std::filesystem::path dir_ = std::filesystem::path(::testing::TempDir()) /
                               (std::string("access_log_node_test_") +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::path log_ = dir_ / "access.log";
};

TEST_F(AccessLogNodeTest, EachRequestIsOneLineSayingHowItWent) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=20ms", "--workers=1", "--access_log=" + log_.string()}));
  ControlClient control(node.control_port());
  // /api/ proxies to the node's own admin listener; a fault rule aborts /broken.
  v1::NodeConfig config;
  *config.add_routes() = ProxyRoute("/api/", {"127.0.0.1:" + std::to_string(node.admin_port())});
  *config.add_routes() = RespondRoute("/");
  v1::FaultRule* rule = config.add_faults();
  rule->set_name("broken-path");
  rule->mutable_match()->set_path_prefix("/broken");
  rule->mutable_abort()->set_kind(v1::AbortFault::STATUS);
  rule->mutable_abort()->set_status(503);
  grpc::Status status = control.Update(config, {"routes", "faults"});
  ASSERT_TRUE(status.ok()) << Describe(status);

  HttpClient client = ConnectTo(node.http_port());
  ASSERT_TRUE(client.RoundTrip(GetRequest("/hello?q=\"x\"")));
  ASSERT_TRUE(client.RoundTrip("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"));
  ASSERT_TRUE(client.RoundTrip(GetRequest("/api/healthz")));
  ASSERT_TRUE(client.RoundTrip(GetRequest("/broken")));
  // A client that leaves (a reset) before its delayed response.
  abuse::RawSocket leaving;
  ASSERT_TRUE(leaving.StartConnect(node.http_port()));
  ASSERT_TRUE(leaving.SendAll(GetRequest("/gone"), 2s));
  std::this_thread::sleep_for(5ms);
  leaving.Reset();

  std::vector<std::string> lines = WaitForLines(log_, 5);
  ASSERT_EQ(lines.size(), 5u) << ReadTextFile(log_);
  EXPECT_THAT(
      lines[0],
      ContainsRegex(
          "^\\{\"time\":\"20[0-9-]+T[0-9:.]+Z\",\"peer\":\"127.0.0.1:[0-9]+\","
          "\"method\":\"GET\",\"target\":\"/hello\\?q=\\\\\"x\\\\\"\","
          "\"protocol\":\"http/1.1\",\"status\":200,\"bytes_in\":[0-9]+,\"bytes_out\":[0-9]+,"
          "\"duration_ms\":2[0-9]\\.[0-9]{3},\"delay_ms\":20\\.000,"
          "\"route\":\"/\"\\}$"));
  // Sizes: the head and the declared body in; the head and the body out.
  EXPECT_THAT(lines[1],
              HasSubstr("\"method\":\"POST\",\"target\":\"/form\",\"protocol\":\"http/1.1\","
                        "\"status\":200,"
                        "\"bytes_in\":56,"));
  EXPECT_THAT(lines[0], ContainsRegex("\"bytes_out\":1[0-9]{2},"));
  // The upstream's own status (the admin listener has no /api/healthz).
  EXPECT_THAT(lines[2],
              ContainsRegex(
                  "\"target\":\"/api/healthz\",\"protocol\":\"http/1.1\",\"status\":404,.*"
                  "\"route\":\"/api/\",\"upstream\":\"127.0.0.1:" +
                  std::to_string(node.admin_port()) + "\",\"upstream_ms\":[0-9]+\\.[0-9]{3}\\}$"));
  EXPECT_THAT(lines[3],
              ContainsRegex("\"target\":\"/broken\",\"protocol\":\"http/1.1\",\"status\":503,.*"
                            "\"fault\":\"broken-path\"\\}$"));
  // No response reached it: status 0, as nginx's 499 says.
  EXPECT_THAT(lines[4], HasSubstr("\"target\":\"/gone\",\"protocol\":\"http/1.1\",\"status\":0,"));
  // Only these lines: the node's own log stays on stdout.
  EXPECT_THAT(node.Output(), ::testing::Not(HasSubstr("\"target\":")));
}

TEST_F(AccessLogNodeTest, ASampleLogsThatShareOfRequests) {
  NodeProcess node;
  ASSERT_TRUE(node.Start(
      {"--delay=0s", "--workers=1", "--access_log=" + log_.string(), "--access_log_sample=0.1"}));
  HttpClient client = ConnectTo(node.http_port());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client.RoundTrip(GetRequest("/n" + std::to_string(i))));
  }
  std::vector<std::string> lines = WaitForLines(log_, 10);
  std::this_thread::sleep_for(100ms);  // anything more would show by now
  lines = LinesOf(ReadTextFile(log_));
  ASSERT_EQ(lines.size(), 10u) << ReadTextFile(log_);
  EXPECT_THAT(lines[0], HasSubstr("\"target\":\"/n9\""));  // every tenth
  EXPECT_THAT(lines[9], HasSubstr("\"target\":\"/n99\""));
}

TEST_F(AccessLogNodeTest, StdoutCarriesTheLinesBesideTheNodesLogAndOffMeansNone) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1", "--access_log=stdout"}));
  HttpClient client = ConnectTo(node.http_port());
  ASSERT_TRUE(client.RoundTrip(GetRequest("/on-stdout")));
  EXPECT_TRUE(
      node.WaitForOutput("\"target\":\"/on-stdout\",\"protocol\":\"http/1.1\",\"status\":200", 2s))
      << node.Output();

  NodeProcess quiet;
  ASSERT_TRUE(quiet.Start({"--delay=0s", "--workers=1"}));
  HttpClient other = ConnectTo(quiet.http_port());
  ASSERT_TRUE(other.RoundTrip(GetRequest("/off")));
  std::this_thread::sleep_for(100ms);
  EXPECT_THAT(quiet.Output(), ::testing::Not(HasSubstr("\"target\":")));
}

TEST_F(AccessLogNodeTest, ADestinationThatCannotBeOpenedOrABadSampleIsAUsageError) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--access_log=/no/such/dir/access.log"},
        {"--access_log=stdout", "--access_log_sample=0"},
        {"--access_log=stdout", "--access_log_sample=1.5"}}) {
    std::vector<std::string> args = {PROXYNODE_BINARY, "--http_listen=127.0.0.1:0",
                                     "--admin_listen=127.0.0.1:0", "--control_listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    CommandResult run = RunCommand(args, dir_, 10s);
    ASSERT_TRUE(run.exit) << run;
    EXPECT_EQ(run.exit->ToString(), "exit 2") << run;
    EXPECT_THAT(run.err, HasSubstr("--access_log")) << run;
  }
}

}  // namespace
}  // namespace proxynode::testing
