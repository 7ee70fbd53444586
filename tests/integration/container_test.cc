// The node run the way its container runs in a pod: the Dockerfile's ENTRYPOINT flags, the
// Deployment's args, the shipped config file mounted like a ConfigMap. Then a pod's
// termination: SIGTERM while 500 connections have requests in flight. Readiness and gRPC
// health turn NOT_SERVING first (liveness stays SERVING), every in-flight request gets its
// response, and the process exits 0 within the Deployment's grace period.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/config_map_dir.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

#ifndef PROXYNODE_SOURCE_DIR
#error "PROXYNODE_SOURCE_DIR must name the source tree (set by tests/integration/CMakeLists.txt)"
#endif

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kConfigMountPath[] = "/etc/proxynode/config/proxynode.textproto";

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream file(std::string(PROXYNODE_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The strings of the Dockerfile's exec-form ENTRYPOINT, the binary first.
std::vector<std::string> DockerfileEntrypoint() {
  std::string dockerfile = ReadSourceFile("Dockerfile");
  std::smatch match;
  std::vector<std::string> words;
  if (!std::regex_search(dockerfile, match, std::regex(R"(\nENTRYPOINT \[([^\]]*)\])"))) {
    return words;
  }
  const std::string list = match[1];
  const std::regex quoted(R"re("([^"]*)")re");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), quoted);
       it != std::sregex_iterator(); ++it) {
    words.push_back((*it)[1]);
  }
  return words;
}

// The proxynode container's `args:` items in the base Deployment.
std::vector<std::string> DeploymentArgs() {
  std::istringstream deployment(ReadSourceFile("k8s/base/deployment.yaml"));
  std::vector<std::string> args;
  std::string line;
  bool in_args = false;
  const std::regex item(R"(^\s*-\s+(--\S+)\s*$)");
  while (std::getline(deployment, line)) {
    std::smatch match;
    if (std::regex_match(line, std::regex(R"(^\s*args:\s*$)"))) {
      in_args = true;
    } else if (in_args && std::regex_match(line, match, item)) {
      args.push_back(match[1]);
    } else if (in_args && !std::regex_match(line, std::regex(R"(^\s*(#.*)?$)"))) {
      break;  // the list ended
    }
  }
  return args;
}

int GracePeriodSeconds() {
  std::string deployment = ReadSourceFile("k8s/base/deployment.yaml");
  std::smatch match;
  if (!std::regex_search(deployment, match,
                         std::regex(R"(terminationGracePeriodSeconds:\s*(\d+))"))) {
    return 0;
  }
  return std::stoi(match[1]);
}

// "--http_listen=0.0.0.0:8080" -> "--http_listen=0.0.0.0:0": every interface, as in the pod,
// but a free port, so tests never collide.
std::string WithFreePort(const std::string& flag) {
  return std::regex_replace(flag, std::regex(R"(:\d+$)"), ":0");
}

TEST(ContainerTest, ImageAndDeploymentAgree) {
  std::vector<std::string> entrypoint = DockerfileEntrypoint();
  ASSERT_GE(entrypoint.size(), 4u) << "no exec-form ENTRYPOINT in the Dockerfile";
  EXPECT_EQ(entrypoint[0], "/usr/local/bin/proxynode");
  for (const char* listener :
       {"--http_listen=0.0.0.0:", "--admin_listen=0.0.0.0:", "--control_listen=0.0.0.0:"}) {
    bool found = false;
    for (const std::string& word : entrypoint) found = found || word.rfind(listener, 0) == 0;
    EXPECT_TRUE(found) << listener << " missing from the ENTRYPOINT: a pod must listen on "
                       << "its own address";
  }
  std::vector<std::string> args = DeploymentArgs();
  ASSERT_FALSE(args.empty()) << "no args in k8s/base/deployment.yaml";
  EXPECT_NE(std::find(args.begin(), args.end(), std::string("--config=") + kConfigMountPath),
            args.end());
  // The grace period covers the drain the node is told to wait for.
  int drain_seconds = 0;
  for (const std::string& arg : args) {
    std::smatch match;
    if (std::regex_match(arg, match, std::regex(R"(--drain_timeout=(\d+)s)"))) {
      drain_seconds = std::stoi(match[1]);
    }
  }
  ASSERT_GT(drain_seconds, 0) << "the Deployment should pass --drain_timeout explicitly";
  EXPECT_GT(GracePeriodSeconds(), drain_seconds);
}

TEST(ContainerTest, SigtermWithFiveHundredRequestsInFlight) {
  // The flags exactly as the pod runs the image, ports aside; the config file is the one the
  // base kustomization ships, mounted like its ConfigMap.
  ConfigMapDirectory config_map;
  config_map.Publish(ReadSourceFile("k8s/base/proxynode.textproto"));
  std::vector<std::string> flags;
  std::vector<std::string> entrypoint = DockerfileEntrypoint();
  ASSERT_GE(entrypoint.size(), 2u);
  for (size_t i = 1; i < entrypoint.size(); ++i) flags.push_back(WithFreePort(entrypoint[i]));
  for (std::string arg : DeploymentArgs()) {
    if (arg == std::string("--config=") + kConfigMountPath) arg = "--config=" + config_map.file();
    flags.push_back(arg);
  }
  const int grace_seconds = GracePeriodSeconds();
  ASSERT_GT(grace_seconds, 0);

  NodeProcess node;
  ASSERT_TRUE(node.Start(flags));
  EXPECT_NE(node.banner().find("\"http\":\"0.0.0.0:"), std::string::npos) << node.banner();
  ControlClient control(node.control_port());
  HealthStatus health = HealthStatus::kUnknown;
  ASSERT_TRUE(control.HealthCheck("", &health).ok());
  ASSERT_EQ(health, HealthStatus::kServing);
  ASSERT_TRUE(control.HealthCheck("liveness", &health).ok());
  ASSERT_EQ(health, HealthStatus::kServing);
  std::optional<HttpResponse> ready = node.AdminGet("/readyz");
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200);

  // Long enough a delay that the requests are still waiting when the probes are looked at.
  v1::NodeConfig slow;
  *slow.mutable_delay() = Millis(3000);
  grpc::Status updated = control.Update(slow, {"delay"});
  ASSERT_TRUE(updated.ok()) << Describe(updated);

  constexpr int kInFlight = 500;
  std::vector<HttpClient> clients;
  ASSERT_TRUE(ConnectAndSend(node.http_port(), kInFlight, GetRequest(), &clients));
  ASSERT_TRUE(WaitUntil(
      [&] { return node.MetricSum("proxynode_node_pending_requests") == kInFlight; }, 10s))
      << "pending: " << node.MetricSum("proxynode_node_pending_requests");

  const auto terminated_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(node.Signal(SIGTERM));
  ASSERT_TRUE(WaitUntil(
      [&] {
        HealthStatus now = HealthStatus::kUnknown;
        return control.HealthCheck("", &now).ok() && now == HealthStatus::kNotServing;
      },
      5s))
      << "health did not turn NOT_SERVING";
  ready = node.AdminGet("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  HealthStatus liveness = HealthStatus::kUnknown;
  ASSERT_TRUE(control.HealthCheck("liveness", &liveness).ok());
  EXPECT_EQ(liveness, HealthStatus::kServing) << "liveness must not fail a draining pod";
  // Health turned first: the requests are all still waiting for their delay.
  EXPECT_EQ(node.MetricSum("proxynode_node_pending_requests"), kInFlight);

  int answered = 0;
  for (HttpClient& client : clients) {
    std::optional<HttpResponse> response = client.ReadResponse(false, 10s);
    ASSERT_TRUE(response) << "request " << answered << ": " << client.error();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "Hello World\n");
    EXPECT_TRUE(response->ConnectionClose()) << "a draining node closes its connections";
    ++answered;
  }
  EXPECT_EQ(answered, kInFlight);

  std::optional<ExitStatus> exit = node.WaitExit(std::chrono::seconds(grace_seconds));
  ASSERT_TRUE(exit.has_value()) << "still running after the grace period";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - terminated_at, std::chrono::seconds(grace_seconds));
  EXPECT_NE(node.Output().find("\"message\":\"draining\",\"reason\":\"SIGTERM\""),
            std::string::npos)
      << node.Output();
  EXPECT_NE(node.Output().find("\"message\":\"stopped\""), std::string::npos);
}

}  // namespace
}  // namespace proxynode::testing
