// The admin listener: health endpoints and the Prometheus families, checked against traffic
// the test itself sent, and /metrics as Prometheus's own linter sees it (promtool, from
// Debian's prometheus package: scripts/install-deps.sh).

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"
#include "tests/testing/config_map_dir.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// A directory of the test's own, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "metrics_test_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// What `promtool check metrics` makes of `text`: it prints each problem and exits non-zero.
CommandResult Promtool(const std::string& text, const ScratchDir& dir) {
  const std::filesystem::path file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  return RunCommand({"/bin/sh", "-c", "exec promtool check metrics < '" + file.string() + "'"},
                    dir.path());
}

void ExpectPromtoolAccepts(const std::string& text, const ScratchDir& dir) {
  CommandResult lint = Promtool(text, dir);
  ASSERT_TRUE(lint.exit) << "promtool did not finish";
  ASSERT_NE(lint.exit->code, 127) << "promtool not found: scripts/install-deps.sh installs "
                                     "Debian's prometheus package, which has it";
  EXPECT_TRUE(lint.exit->exited && lint.exit->code == 0) << lint;
  EXPECT_EQ(lint.out + lint.err, "") << lint;
}

std::string MetricsText(NodeProcess& node) {
  std::optional<HttpResponse> metrics = node.AdminGet("/metrics");
  if (!metrics || metrics->status != 200) {
    ADD_FAILURE() << "GET /metrics failed";
    return "";
  }
  return metrics->body;
}

TEST(MetricsTest, HealthAndReadiness) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({}));

  std::optional<HttpResponse> healthz = node.AdminGet("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  std::optional<HttpResponse> readyz = node.AdminGet("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  std::optional<HttpResponse> metrics = node.AdminGet("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("proxynode_requests_total{worker=\"0\"}"), std::string::npos);
}

TEST(MetricsTest, CountersMatchTheTrafficAndConnectionsReturnToZero) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  constexpr int kClients = 5;
  constexpr int kRequestsPerClient = 4;

  std::vector<HttpClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(ConnectTo(node.http_port()));
  for (HttpClient& client : clients) {
    for (int i = 0; i < kRequestsPerClient; ++i) {
      std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
      ASSERT_TRUE(response) << client.error();
      ASSERT_EQ(response->status, 200);
    }
  }
  // Counted before each response left, so exact now; summed over the workers.
  constexpr double kRequests = kClients * kRequestsPerClient;
  EXPECT_EQ(node.MetricSum("proxynode_requests_total"), kRequests);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total"), kRequests);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total", R"(class="2xx")"), kRequests);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total", R"(class="4xx")"), 0);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total", R"(class="5xx")"), 0);
  EXPECT_EQ(node.MetricSum("proxynode_connections_active"), kClients);

  for (HttpClient& client : clients) client.Close();
  // The node sees the closes asynchronously: poll the gauge.
  EXPECT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_connections_active") == 0; }, 2s))
      << "connections_active = " << node.MetricSum("proxynode_connections_active");
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total"), kClients);
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total", R"(reason="by_peer")"), kClients);
}

// A client that gives up in the middle of a request body: its connection must be released
// like any other.
TEST(MetricsTest, ConnectionClosedMidBodyIsReleased) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s"}));
  HttpClient client = ConnectTo(node.http_port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc"));
  ASSERT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_requests_total") == 1; }, 2s));

  client.Close();
  EXPECT_TRUE(WaitUntil([&] { return node.MetricSum("proxynode_connections_active") == 0; }, 2s))
      << "connections_active = " << node.MetricSum("proxynode_connections_active");
}

// Each status class and each close reason is a label of one family: a 400, a 503, connections
// closed by the client, by the node after its last response, and by the idle timeout.
TEST(MetricsTest, StatusClassesAndCloseReasonsAreLabels) {
  NodeProcess node;
  ASSERT_TRUE(node.Start(
      {"--delay=0s", "--workers=1", "--max_requests_per_connection=2", "--idle_timeout=300ms"}));
  {
    HttpClient malformed = ConnectTo(node.http_port());
    std::optional<HttpResponse> refused =
        malformed.RoundTrip("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    ASSERT_TRUE(refused) << malformed.error();
    EXPECT_EQ(refused->status, 400);
  }  // closed by the client once the node half-closed: the node's close ("local")
  {
    HttpClient capped = ConnectTo(node.http_port());
    ASSERT_TRUE(capped.RoundTrip(GetRequest()));
    ASSERT_TRUE(capped.RoundTrip(GetRequest()));  // the second carries Connection: close
  }
  HttpClient idle = ConnectTo(node.http_port());
  ASSERT_TRUE(idle.RoundTrip(GetRequest()));

  EXPECT_TRUE(WaitUntil(
      [&] {
        return node.MetricSum("proxynode_connections_closed_total", R"(reason="idle_timeout")") ==
               1;
      },
      5s))
      << MetricsText(node);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total", R"(class="4xx")"), 1);
  EXPECT_EQ(node.MetricSum("proxynode_responses_total", R"(class="2xx")"), 3);
  EXPECT_EQ(node.MetricSum("proxynode_max_requests_reached_total"), 1);
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total", R"(reason="local")"), 2);
  EXPECT_EQ(node.MetricSum("proxynode_connections_closed_total"), 3) << MetricsText(node);
  // The old one-family-per-kind names are gone.
  const std::string text = MetricsText(node);
  EXPECT_THAT(text, Not(HasSubstr("proxynode_responses_2xx_total")));
  EXPECT_THAT(text, Not(HasSubstr("proxynode_closed_idle_timeout_total")));
  EXPECT_THAT(text, Not(HasSubstr("_quantile_seconds")));
}

// A config that makes every family appear: a proxied route, a delayed one, a fault rule
// that delays and one that aborts.
std::string EveryFamilyConfig(const std::string& upstream) {
  return "delay { nanos: 0 }\n"
         "workers: 2\n"
         "routes { prefix: \"/api/\" action: PROXY upstreams: \"" +
         upstream +
         "\" }\n"
         "routes { prefix: \"/slow/\" action: RESPOND delay { nanos: 2000000 } }\n"
         "faults { name: \"slow-fault\" match { path_prefix: \"/slow/\" }\n"
         "  delay { distribution { fixed { nanos: 1000000 } } } }\n"
         "faults { name: \"abort-fault\" match { path_prefix: \"/abort/\" }\n"
         "  abort { kind: STATUS status: 503 } }\n"
         "tcp_proxies { name: \"tcp\" listen: \"127.0.0.1:0\" upstream: \"" +
         upstream + "\"\n  toxics { name: \"lat\" latency { latency { nanos: 1000 } } } }\n";
}

// promtool lints /metrics taken while clients load every route, and the last one once every
// family has samples: it must find nothing to say.
TEST(MetricsTest, PromtoolAcceptsMetricsWithEveryFamilyUnderLoad) {
  ScratchDir scratch;
  ASSERT_FALSE(scratch.path().empty());
  UpstreamServer upstream;
  ASSERT_TRUE(upstream.Start());
  ConfigMapDirectory config;
  config.Publish(EveryFamilyConfig(upstream.address()));
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + config.file()}));

  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      HttpClient client = ConnectTo(node.http_port());
      while (!stop.load()) {
        for (const char* target : {"/api/x", "/slow/x", "/abort/x", "/"}) {
          if (client.RoundTrip(GetRequest(target))) {
            answered.fetch_add(1);
          } else {
            client = ConnectTo(node.http_port());
          }
        }
      }
    });
  }
  for (int scrape = 0; scrape < 3; ++scrape) {
    ASSERT_TRUE(WaitUntil([&] { return answered.load() > 40 * (scrape + 1); }, 10s));
    ExpectPromtoolAccepts(MetricsText(node), scratch);
  }
  stop.store(true);
  for (std::thread& client : clients) client.join();

  const std::string text = MetricsText(node);
  ExpectPromtoolAccepts(text, scratch);
  for (const char* family : {"proxynode_requests_total",
                             "proxynode_responses_total",
                             "proxynode_connections_closed_total",
                             "proxynode_rejected_total",
                             "proxynode_received_bytes_total",
                             "proxynode_sent_bytes_total",
                             "proxynode_connections_active",
                             "proxynode_request_duration_seconds",
                             "proxynode_timer_lateness_seconds",
                             "proxynode_worker_timer_lateness_seconds",
                             "proxynode_config_version",
                             "proxynode_config_reloads_total",
                             "proxynode_build_info",
                             "process_cpu_seconds_total",
                             "process_resident_memory_bytes",
                             "process_virtual_memory_bytes",
                             "process_open_fds",
                             "process_max_fds",
                             "process_start_time_seconds",
                             "proxynode_upstream_requests_total",
                             "proxynode_upstream_errors_total",
                             "proxynode_upstream_latency_seconds",
                             "proxynode_route_requests_total",
                             "proxynode_route_latency_seconds",
                             "proxynode_fault_fired_total",
                             "proxynode_fault_aborted_total",
                             "proxynode_fault_injected_delay_seconds"}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n# TYPE ") + family + " ")) << family;
  }
  // Each kind of traffic was counted, so the lint saw real samples, not only zeros.
  EXPECT_GT(SumMetric(text, "proxynode_upstream_latency_seconds_count"), 0);
  EXPECT_GT(SumMetric(text, "proxynode_route_latency_seconds_count", R"(route="/slow/")"), 0);
  EXPECT_GT(SumMetric(text, "proxynode_timer_lateness_seconds_count"), 0);
  EXPECT_GT(SumMetric(text, "proxynode_fault_aborted_total", R"(kind="status")"), 0);
  EXPECT_GT(SumMetric(text, "proxynode_fault_injected_delay_seconds_count"), 0);
  EXPECT_GT(SumMetric(text, "proxynode_responses_total", R"(class="5xx")"), 0);
}

// The linter can fail: the node's own text with one sample typed as what it is not.
TEST(MetricsTest, PromtoolRefusesWhatItShould) {
  ScratchDir scratch;
  ASSERT_FALSE(scratch.path().empty());
  CommandResult lint = Promtool(
      "# HELP proxynode_latency_quantile_seconds x\n"
      "# TYPE proxynode_latency_quantile_seconds gauge\n"
      "proxynode_latency_quantile_seconds{quantile=\"0.5\"} 0.1\n"
      "# HELP proxynode_responses_2xx counter without _total\n"
      "# TYPE proxynode_responses_2xx counter\n"
      "proxynode_responses_2xx 3\n",
      scratch);
  ASSERT_TRUE(lint.exit);
  EXPECT_NE(lint.exit->code, 0) << lint;
  EXPECT_THAT(lint.out + lint.err, HasSubstr("quantile")) << lint;
  EXPECT_THAT(lint.out + lint.err, HasSubstr("_total")) << lint;
}

// proxynode_config_reloads_total counts each reload of the watched file by its outcome.
TEST(MetricsTest, ConfigReloadsAreCountedByResult) {
  ConfigMapDirectory config;
  config.Publish("delay { nanos: 0 }\nworkers: 1\nbody: \"first\\n\"\n");
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--config=" + config.file()}));
  auto reloads = [&node](const char* result) {
    return node.MetricSum("proxynode_config_reloads_total",
                          std::string("result=\"") + result + "\"");
  };
  EXPECT_EQ(node.MetricSum("proxynode_config_reloads_total"), 0);

  config.Publish("delay { nanos: 0 }\nworkers: 1\nbody: \"second\\n\"\n");
  ASSERT_TRUE(WaitUntil([&] { return reloads("ok") == 1; }, 10s)) << node.Output();
  EXPECT_EQ(node.MetricSum("proxynode_config_version"), 2);

  // Another text, the same config.
  config.Publish("# a comment\ndelay { nanos: 0 }\nworkers: 1\nbody: \"second\\n\"\n");
  ASSERT_TRUE(WaitUntil([&] { return reloads("unchanged") == 1; }, 10s)) << node.Output();

  config.Publish("delay { nanos: 0 }\nworkers: 1\nno_such_field: 3\n");
  ASSERT_TRUE(WaitUntil([&] { return reloads("error") == 1; }, 10s)) << node.Output();
  EXPECT_EQ(reloads("ok"), 1);
  EXPECT_EQ(reloads("unchanged"), 1);
  EXPECT_EQ(node.MetricSum("proxynode_config_version"), 2);
}

// `proxynode --version`: one line, exit 0; /metrics says the same in proxynode_build_info.
TEST(MetricsTest, BuildIdentityOnTheVersionFlagAndOnMetrics) {
  ScratchDir scratch;
  ASSERT_FALSE(scratch.path().empty());
  CommandResult version = RunCommand({PROXYNODE_BINARY, "--version"}, scratch.path());
  ASSERT_TRUE(version.exit);
  EXPECT_TRUE(version.exit->exited && version.exit->code == 0) << version;
  EXPECT_EQ(version.err, "");
  EXPECT_THAT(version.out, MatchesRegex("proxynode [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit "
                                        "[0-9a-z-]+, [A-Za-z]+\\)\n"))
      << version;
  // "proxynode V (commit C, T)\n"
  const std::string line = version.out;
  const std::string number = line.substr(10, line.find(' ', 10) - 10);
  const size_t commit_at = line.find("(commit ") + 8;
  const std::string commit = line.substr(commit_at, line.find(',', commit_at) - commit_at);
  const size_t type_at = line.find(", ") + 2;
  const std::string build_type = line.substr(type_at, line.find(')') - type_at);

  NodeProcess node;
  ASSERT_TRUE(node.Start({}));
  EXPECT_EQ(node.MetricSum("proxynode_build_info", "version=\"" + number + "\",commit=\"" + commit +
                                                       "\",build_type=\"" + build_type + "\""),
            1)
      << MetricsText(node);
}

// The standard process_* metrics describe the node's process, not some other one.
TEST(MetricsTest, ProcessMetricsDescribeTheNode) {
  const auto began = static_cast<double>(std::time(nullptr));
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  const double fds_before = node.MetricSum("process_open_fds");
  std::vector<HttpClient> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(ConnectTo(node.http_port()));
    ASSERT_TRUE(clients.back().RoundTrip(GetRequest()));
  }
  EXPECT_GE(node.MetricSum("process_open_fds"), fds_before + 20);
  EXPECT_EQ(node.MetricSum("process_max_fds"),
            node.MetricSum("proxynode_open_files_limit", R"(kind="soft")"));
  // /proc's start time has the boot time's one-second grain.
  const double started = node.MetricSum("process_start_time_seconds");
  EXPECT_GE(started, began - 2);
  EXPECT_LE(started, static_cast<double>(std::time(nullptr)) + 2);
  EXPECT_GT(node.MetricSum("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(node.MetricSum("process_virtual_memory_bytes"),
            node.MetricSum("process_resident_memory_bytes"));
  EXPECT_GT(node.MetricSum("process_cpu_seconds_total"), 0);
}

}  // namespace
}  // namespace proxynode::testing
