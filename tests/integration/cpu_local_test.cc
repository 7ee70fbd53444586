// CPU-local mode (--cpu_local): workers pinned one per allowed CPU, each connection served by
// the worker on the CPU its packets arrive on (on loopback: the CPU its client runs on), and
// moved when the client moves. The test pins its own thread to choose that CPU.

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/core/cpu_affinity.h"
#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

// The Cpus_allowed_list line of every thread of `pid` named `name`.
std::vector<std::string> AllowedCpusOfThreads(pid_t pid, const std::string& name) {
  std::vector<std::string> lists;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    if (!std::getline(comm, thread_name) || thread_name != name) {
      continue;
    }
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("Cpus_allowed_list:")) {
        lists.push_back(line.substr(line.find_first_not_of(" \t", 18)));
      }
    }
  }
  return lists;
}

void PinThisThreadTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(set), &set), 0);
}

// `count` requests on `client`, each answered 200.
void ServeRequests(HttpClient& client, int count) {
  for (int i = 0; i < count; ++i) {
    std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
    ASSERT_TRUE(response) << "request " << i << ": " << client.error();
    ASSERT_EQ(response->status, 200) << "request " << i;
  }
}

// The worker serving the only open HTTP connection.
int WorkerOfTheConnection(ControlClient& control) {
  v1::ListConnectionsResponse listed;
  grpc::Status status = control.ListConnections(10, &listed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(listed.connections_size(), 1);
  return listed.connections_size() == 1 ? listed.connections(0).worker() : -1;
}

class CpuLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cpus_ = AllowedCpus();
    if (cpus_.size() < 2) {
      GTEST_SKIP() << "needs 2 CPUs, has " << cpus_.size();
    }
    // Restored in TearDown: the pinning is this test's, not the next one's.
    ASSERT_EQ(sched_getaffinity(0, sizeof(original_), &original_), 0);
  }
  void TearDown() override {
    if (cpus_.size() >= 2) {
      sched_setaffinity(0, sizeof(original_), &original_);
    }
  }

  std::vector<int> cpus_;
  cpu_set_t original_{};
};

TEST_F(CpuLocalTest, WorkersArePinnedOnePerCpu) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--cpu_local", "--workers=2", "--delay=0s"}));
  for (int worker = 0; worker < 2; ++worker) {
    const std::string name = "worker-" + std::to_string(worker);
    const std::string expected = std::to_string(cpus_[static_cast<size_t>(worker)]);
    std::vector<std::string> lists;
    // Each worker pins itself as its thread starts, which may be just after start-up's log.
    for (int attempt = 0; attempt < 100; ++attempt) {
      lists = AllowedCpusOfThreads(node.pid(), name);
      if (lists.size() == 1 && lists[0] == expected) break;
      usleep(20000);
    }
    ASSERT_EQ(lists.size(), 1u) << name;
    EXPECT_EQ(lists[0], expected) << name;
  }
}

TEST_F(CpuLocalTest, WithoutTheFlagWorkersAreNotPinned) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=2", "--delay=0s"}));
  std::vector<std::string> lists;
  // The thread names itself as it starts, which may be just after start-up's log.
  for (int attempt = 0; attempt < 100 && lists.size() != 1; ++attempt) {
    if (attempt > 0) usleep(20000);
    lists = AllowedCpusOfThreads(node.pid(), "worker-0");
  }
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_NE(lists[0], std::to_string(cpus_[0]));
}

// A connection made from a CPU is served by that CPU's worker from its first request; when
// the client moves to the other CPU, the connection follows within kCpuCheckInterval (32)
// requests, and no request fails on the way.
TEST_F(CpuLocalTest, ConnectionsFollowTheirClientsCpu) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--cpu_local", "--workers=2", "--delay=0s"}));
  ControlClient control(node.control_port());

  PinThisThreadTo(cpus_[1]);
  HttpClient client = ConnectTo(node.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(WorkerOfTheConnection(control), 1);

  PinThisThreadTo(cpus_[0]);
  ASSERT_NO_FATAL_FAILURE(ServeRequests(client, 40));
  EXPECT_EQ(WorkerOfTheConnection(control), 0);
  EXPECT_GE(node.MetricSum("proxynode_connections_handed_in_total", "worker=\"0\""), 1);

  // And back again.
  PinThisThreadTo(cpus_[1]);
  ASSERT_NO_FATAL_FAILURE(ServeRequests(client, 40));
  EXPECT_EQ(WorkerOfTheConnection(control), 1);
}

// New connections from each CPU land on that CPU's worker (steered at accept, before any
// byte is read), whichever worker the kernel woke to accept them.
TEST_F(CpuLocalTest, NewConnectionsLandOnTheirCpusWorker) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--cpu_local", "--workers=2", "--delay=0s"}));
  ControlClient control(node.control_port());
  for (int round = 0; round < 3; ++round) {
    for (int worker = 0; worker < 2; ++worker) {
      PinThisThreadTo(cpus_[static_cast<size_t>(worker)]);
      HttpClient client = ConnectTo(node.http_port());
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
      ASSERT_TRUE(response) << client.error();
      ASSERT_EQ(response->status, 200);
      EXPECT_EQ(WorkerOfTheConnection(control), worker) << "round " << round;
      client.Close();
      // Wait until the node has seen the close, so the next listing shows one connection.
      for (int i = 0; i < 200; ++i) {
        v1::ListConnectionsResponse listed;
        ASSERT_TRUE(control.ListConnections(10, &listed).ok());
        if (listed.connections_size() == 0) break;
        usleep(10000);
      }
    }
  }
}

}  // namespace
}  // namespace proxynode::testing
