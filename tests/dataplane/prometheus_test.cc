#include "dataplane/stats/prometheus.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/core/clock.h"
#include "dataplane/stats/config_reload_stats.h"
#include "dataplane/stats/process_stats.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/stats_registry.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {
namespace {

struct Sample {
  std::string name;
  std::string labels;  // the text between the braces, without them; may be empty
  double value = 0;
};

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Consumes a metric (or, with colons disallowed, a label) name from the front of `s`.
bool TakeName(std::string_view& s, std::string* name, bool allow_colon = true) {
  size_t n = 0;
  while (n < s.size() && (n == 0 ? IsNameStart(s[n]) : IsNameChar(s[n])) &&
         (allow_colon || s[n] != ':')) {
    ++n;
  }
  if (n == 0) {
    return false;
  }
  *name = std::string(s.substr(0, n));
  s.remove_prefix(n);
  return true;
}

bool ParseValue(std::string_view text, double* value) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") {
    *value = text == "NaN" ? std::nan("") : (text[0] == '+' ? HUGE_VAL : -HUGE_VAL);
    return true;
  }
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) != 0) {
    return false;
  }
  const std::string copy(text);
  char* end = nullptr;
  *value = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

// `name{label="value",...} value` or `name value` (no timestamp).
bool ParseSample(std::string_view line, Sample* sample) {
  std::string_view s = line;
  if (!TakeName(s, &sample->name)) {
    return false;
  }
  sample->labels.clear();
  if (!s.empty() && s[0] == '{') {
    s.remove_prefix(1);
    const std::string_view labels_start = s;
    bool first = true;
    while (true) {
      if (!s.empty() && s[0] == '}') {
        break;
      }
      if (!first) {
        if (s.empty() || s[0] != ',') {
          return false;
        }
        s.remove_prefix(1);
      }
      first = false;
      std::string label;
      if (!TakeName(s, &label, /*allow_colon=*/false)) {
        return false;
      }
      if (s.size() < 2 || s[0] != '=' || s[1] != '"') {
        return false;
      }
      s.remove_prefix(2);
      while (!s.empty() && s[0] != '"') {
        if (s[0] == '\n') {
          return false;
        }
        if (s[0] == '\\') {
          if (s.size() < 2) {
            return false;
          }
          s.remove_prefix(1);
        }
        s.remove_prefix(1);
      }
      if (s.empty()) {
        return false;
      }
      s.remove_prefix(1);  // closing quote
    }
    sample->labels = std::string(labels_start.substr(0, labels_start.size() - s.size()));
    s.remove_prefix(1);  // '}'
  }
  if (s.empty() || s[0] != ' ') {
    return false;
  }
  s.remove_prefix(1);
  return ParseValue(s, &sample->value);
}

struct Exposition {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::vector<std::string> errors;
};

// Checks the whole text: every line a HELP/TYPE comment or a sample; each family typed once,
// HELP then TYPE, its samples right after it; histogram samples use the _bucket/_sum/_count
// suffixes.
Exposition Parse(std::string_view text) {
  Exposition out;
  if (text.empty() || text.back() != '\n') {
    out.errors.push_back("text does not end with a newline");
  }
  std::string family;
  std::string help_for;
  std::set<std::string> closed;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_no;
    const std::string where = "line " + std::to_string(line_no) + ": '" + std::string(line) + "'";
    if (line.empty()) {
      out.errors.push_back(where + " is empty");
      continue;
    }
    if (line[0] == '#') {
      std::string_view rest = line;
      std::string name;
      if (rest.substr(0, 7) == "# HELP ") {
        rest.remove_prefix(7);
        if (!TakeName(rest, &name) || rest.size() < 2 || rest[0] != ' ') {
          out.errors.push_back(where + ": bad HELP");
        }
        help_for = name;
      } else if (rest.substr(0, 7) == "# TYPE ") {
        rest.remove_prefix(7);
        static const std::set<std::string, std::less<>> kTypes = {"counter", "gauge", "histogram",
                                                                  "summary", "untyped"};
        if (!TakeName(rest, &name) || rest.empty() || rest[0] != ' ' ||
            kTypes.find(rest.substr(1)) == kTypes.end()) {
          out.errors.push_back(where + ": bad TYPE");
        }
        if (out.types.count(name) != 0) {
          out.errors.push_back(where + ": family typed twice");
        }
        if (help_for != name) {
          out.errors.push_back(where + ": TYPE not preceded by its HELP");
        }
        if (!family.empty()) {
          closed.insert(family);
        }
        family = name;
        out.types[name] = std::string(rest.substr(1));
      } else {
        out.errors.push_back(where + ": unknown comment");
      }
      continue;
    }
    Sample sample;
    if (!ParseSample(line, &sample)) {
      out.errors.push_back(where + ": not `name{labels} value`");
      continue;
    }
    std::string base = sample.name;
    const auto type = out.types.find(family);
    if (type != out.types.end() && type->second == "histogram") {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (base.size() > suffix.size() && base.ends_with(suffix)) {
          base.resize(base.size() - suffix.size());
          break;
        }
      }
    }
    if (base != family) {
      out.errors.push_back(where + ": sample outside its family '" + family + "'");
    }
    out.samples.push_back(sample);
  }
  return out;
}

// The value of the one sample with this name and labels; NaN if absent or repeated.
double Value(const Exposition& e, std::string_view name, std::string_view labels = "") {
  double value = std::nan("");
  int found = 0;
  for (const Sample& s : e.samples) {
    if (s.name == name && s.labels == labels) {
      value = s.value;
      ++found;
    }
  }
  return found == 1 ? value : std::nan("");
}

// Sum over every sample of a family (all label sets).
double Sum(const Exposition& e, std::string_view name) {
  double sum = 0;
  for (const Sample& s : e.samples) {
    if (s.name == name) {
      sum += s.value;
    }
  }
  return sum;
}

class PrometheusTest : public testing::Test {
 protected:
  PrometheusTest() {
    a_->requests.Add(5);
    a_->connections_accepted.Add(2);
    a_->rejected.rate_limited.Add(1);
    a_->connections_active.Set(3);
    a_->request_latency.Record(80 * kMillisecond);
    a_->request_latency.Record(120 * kMillisecond);
    a_->responses_2xx.Add(4);
    a_->closed_idle_timeout.Add(1);
    a_->bytes_in.Add(300);
    a_->bytes_out.Add(900);

    b_->requests.Add(7);
    b_->connections_accepted.Add(1);
    b_->rejected.max_connections.Add(4);
    b_->connections_active.Set(2);
    b_->pending_timers.Set(1);
    b_->request_latency.Record(400 * kMillisecond);
    b_->timer_lateness.Record(30 * kMicrosecond);
    b_->responses_5xx.Add(1);
    b_->closed_local.Add(2);
    b_->closed_max_requests.Add(1);

    registry_.AddWorker(0, a_);
    registry_.AddWorker(1, b_);

    info_.config_version = 7;
    info_.workers = 2;
    info_.draining = true;
    info_.uptime_seconds = 12.5;
    info_.fd_soft_limit = 1024;
    info_.fd_hard_limit = 4096;
    info_.connections = 5;
    info_.pending_requests = 1;
    info_.active_faults = 3;
    info_.build = {.version = "0.1.0", .commit = "1a2b3c4d5e6f-dirty", .build_type = "Debug"};
    info_.config_reloads = {.ok = 3, .unchanged = 1, .error = 2};

    process_ = {.cpu_seconds = 1.25,
                .resident_memory_bytes = 4096,
                .virtual_memory_bytes = 8192,
                .open_fds = 17,
                .max_fds = 1024,
                .start_time_seconds = 1764324000.5};
  }

  std::string Render() { return RenderPrometheus(registry_.Collect(), proxy_, info_, process_); }

  std::shared_ptr<WorkerStats> a_ = std::make_shared<WorkerStats>();
  std::shared_ptr<WorkerStats> b_ = std::make_shared<WorkerStats>();
  StatsRegistry registry_;
  ProxyStatsSnapshot proxy_;  // empty: a node that proxies nothing
  NodeInfo info_;
  ProcessStats process_;
};

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST_F(PrometheusTest, EveryLineIsACommentOrASample) {
  const std::string text = Render();
  const Exposition e = Parse(text);
  for (const std::string& error : e.errors) {
    ADD_FAILURE() << error;
  }
  EXPECT_GT(e.samples.size(), 50u);
}

TEST_F(PrometheusTest, EmptyStatsAreWellFormed) {
  StatsRegistry empty;
  const std::string text =
      RenderPrometheus(empty.Collect(), ProxyStatsSnapshot{}, NodeInfo{}, ProcessStats{});
  const Exposition e = Parse(text);
  for (const std::string& error : e.errors) {
    ADD_FAILURE() << error;
  }
  EXPECT_EQ(Value(e, "proxynode_request_duration_seconds_count"), 0.0);
  EXPECT_EQ(Value(e, "proxynode_request_duration_seconds_bucket", "le=\"+Inf\""), 0.0);
  EXPECT_EQ(Value(e, "proxynode_request_duration_seconds_bucket", "le=\"0.0001\""), 0.0);
}

TEST_F(PrometheusTest, ContainsExpectedLines) {
  const std::string text = Render();
  for (const char* line : {
           "# TYPE proxynode_requests_total counter",
           "proxynode_requests_total{worker=\"0\"} 5",
           "proxynode_requests_total{worker=\"1\"} 7",
           "proxynode_connections_accepted_total{worker=\"0\"} 2",
           "# TYPE proxynode_rejected_total counter",
           "proxynode_rejected_total{worker=\"0\",reason=\"rate_limited\"} 1",
           "proxynode_rejected_total{worker=\"1\",reason=\"max_connections\"} 4",
           "proxynode_rejected_total{worker=\"1\",reason=\"rate_limited\"} 0",
           "# TYPE proxynode_connections_active gauge",
           "proxynode_connections_active{worker=\"0\"} 3",
           "proxynode_connections_active{worker=\"1\"} 2",
           "proxynode_pending_timers{worker=\"1\"} 1",
           "# TYPE proxynode_request_duration_seconds histogram",
           "proxynode_request_duration_seconds_count 3",
           "proxynode_request_duration_seconds_bucket{le=\"+Inf\"} 3",
           "proxynode_timer_lateness_seconds_count 1",
           "# TYPE proxynode_worker_timer_lateness_seconds histogram",
           "proxynode_worker_timer_lateness_seconds_count{worker=\"0\"} 0",
           "proxynode_worker_timer_lateness_seconds_count{worker=\"1\"} 1",
           "proxynode_worker_timer_lateness_seconds_bucket{worker=\"1\",le=\"0.0001\"} 1",
           "proxynode_worker_timer_lateness_seconds_bucket{worker=\"0\",le=\"0.0001\"} 0",
           "# TYPE proxynode_responses_total counter",
           "proxynode_responses_total{worker=\"0\",class=\"2xx\"} 4",
           "proxynode_responses_total{worker=\"1\",class=\"5xx\"} 1",
           "proxynode_responses_total{worker=\"1\",class=\"2xx\"} 0",
           "# TYPE proxynode_connections_closed_total counter",
           "proxynode_connections_closed_total{worker=\"0\",reason=\"idle_timeout\"} 1",
           "proxynode_connections_closed_total{worker=\"1\",reason=\"local\"} 2",
           "proxynode_connections_closed_total{worker=\"1\",reason=\"by_peer\"} 0",
           "# TYPE proxynode_received_bytes_total counter",
           "proxynode_received_bytes_total{worker=\"0\"} 300",
           "proxynode_sent_bytes_total{worker=\"0\"} 900",
           "proxynode_max_requests_reached_total{worker=\"1\"} 1",
           "proxynode_config_version 7",
           "# TYPE proxynode_config_reloads_total counter",
           "proxynode_config_reloads_total{result=\"ok\"} 3",
           "proxynode_config_reloads_total{result=\"unchanged\"} 1",
           "proxynode_config_reloads_total{result=\"error\"} 2",
           "# TYPE proxynode_build_info gauge",
           "proxynode_build_info{version=\"0.1.0\",commit=\"1a2b3c4d5e6f-dirty\",build_type="
           "\"Debug\"} "
           "1",
           "# TYPE process_cpu_seconds_total counter",
           "process_cpu_seconds_total 1.25",
           "# TYPE process_resident_memory_bytes gauge",
           "process_resident_memory_bytes 4096",
           "process_virtual_memory_bytes 8192",
           "process_open_fds 17",
           "process_max_fds 1024",
           "process_start_time_seconds 1764324000.5",
           "proxynode_workers 2",
           "proxynode_draining 1",
           "proxynode_uptime_seconds 12.5",
           "proxynode_open_files_limit{kind=\"soft\"} 1024",
           "proxynode_open_files_limit{kind=\"hard\"} 4096",
           "proxynode_node_connections 5",
           "proxynode_node_pending_requests 1",
           "proxynode_node_active_faults 3",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line;
  }
}

TEST_F(PrometheusTest, EveryDeclaredStatIsExported) {
  const Exposition e = Parse(Render());
#define PROXYNODE_CHECK_COUNTER(name, metric, help)                       \
  EXPECT_EQ(e.types.count("proxynode_" #metric "_total"), 1u) << #metric; \
  EXPECT_FALSE(std::isnan(Value(e, "proxynode_" #metric "_total", "worker=\"0\""))) << #metric;
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_CHECK_COUNTER)
#undef PROXYNODE_CHECK_COUNTER
#define PROXYNODE_CHECK_CLASS(status_class)                                               \
  EXPECT_FALSE(std::isnan(                                                                \
      Value(e, "proxynode_responses_total", "worker=\"1\",class=\"" #status_class "\""))) \
      << #status_class;
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_CHECK_CLASS)
#undef PROXYNODE_CHECK_CLASS
#define PROXYNODE_CHECK_CLOSE(reason, help)                                                   \
  EXPECT_FALSE(std::isnan(                                                                    \
      Value(e, "proxynode_connections_closed_total", "worker=\"1\",reason=\"" #reason "\""))) \
      << #reason;
  PROXYNODE_CLOSE_REASONS(PROXYNODE_CHECK_CLOSE)
#undef PROXYNODE_CHECK_CLOSE
#define PROXYNODE_CHECK_RELOAD(result, help)                                                     \
  EXPECT_FALSE(std::isnan(Value(e, "proxynode_config_reloads_total", "result=\"" #result "\""))) \
      << #result;
  PROXYNODE_CONFIG_RELOAD_RESULTS(PROXYNODE_CHECK_RELOAD)
#undef PROXYNODE_CHECK_RELOAD
#define PROXYNODE_CHECK_GAUGE(name, help)                    \
  EXPECT_EQ(e.types.count("proxynode_" #name), 1u) << #name; \
  EXPECT_FALSE(std::isnan(Value(e, "proxynode_" #name, "worker=\"1\""))) << #name;
  PROXYNODE_WORKER_GAUGES(PROXYNODE_CHECK_GAUGE)
#undef PROXYNODE_CHECK_GAUGE
#define PROXYNODE_CHECK_REASON(reason, help)                                                   \
  EXPECT_FALSE(                                                                                \
      std::isnan(Value(e, "proxynode_rejected_total", "worker=\"1\",reason=\"" #reason "\""))) \
      << #reason;
  PROXYNODE_REJECTION_REASONS(PROXYNODE_CHECK_REASON)
#undef PROXYNODE_CHECK_REASON
}

TEST_F(PrometheusTest, HistogramBucketsAreCumulative) {
  const Exposition e = Parse(Render());
  // Latencies 80 ms, 120 ms and 400 ms; a value on a bound counts at it (le: at or below).
  const char* kName = "proxynode_request_duration_seconds_bucket";
  EXPECT_EQ(Value(e, kName, "le=\"0.07\""), 0.0);
  EXPECT_EQ(Value(e, kName, "le=\"0.08\""), 1.0);
  EXPECT_EQ(Value(e, kName, "le=\"0.1\""), 1.0);
  EXPECT_EQ(Value(e, kName, "le=\"0.2\""), 2.0);
  EXPECT_EQ(Value(e, kName, "le=\"0.3\""), 2.0);
  EXPECT_EQ(Value(e, kName, "le=\"0.4\""), 3.0);
  EXPECT_EQ(Value(e, kName, "le=\"60\""), 3.0);
  EXPECT_NEAR(Value(e, "proxynode_request_duration_seconds_sum"), 0.6, 0.006);

  for (const char* family :
       {"proxynode_request_duration_seconds", "proxynode_timer_lateness_seconds"}) {
    const std::string bucket = std::string(family) + "_bucket";
    double previous = 0;
    double last_bound = -1;
    int buckets = 0;
    for (const Sample& s : e.samples) {
      if (s.name != bucket) {
        continue;
      }
      ++buckets;
      ASSERT_EQ(s.labels.rfind("le=\"", 0), 0u) << s.labels;
      double bound = 0;
      ASSERT_TRUE(ParseValue(s.labels.substr(4, s.labels.size() - 5), &bound)) << s.labels;
      EXPECT_GT(bound, last_bound) << family << " " << s.labels;
      EXPECT_GE(s.value, previous) << family << " " << s.labels;
      last_bound = bound;
      previous = s.value;
    }
    EXPECT_EQ(buckets, 52) << family << ": 100 us to 60 s, and +Inf";
    EXPECT_TRUE(std::isinf(last_bound)) << family << ": the last bucket must be +Inf";
    EXPECT_EQ(previous, Value(e, std::string(family) + "_count")) << family;
  }
}

// The bounds, as Prometheus users write them in queries: 1..9 x 10^k seconds from 100 us,
// then tens of seconds up to 60.
TEST_F(PrometheusTest, BucketBoundsAreRoundNumbersOfSeconds) {
  const Exposition e = Parse(Render());
  std::vector<std::string> bounds;
  for (const Sample& s : e.samples) {
    if (s.name == "proxynode_request_duration_seconds_bucket") {
      bounds.push_back(s.labels);
    }
  }
  ASSERT_EQ(bounds.size(), 52u);
  EXPECT_EQ(bounds[0], "le=\"0.0001\"");
  EXPECT_EQ(bounds[1], "le=\"0.0002\"");
  EXPECT_EQ(bounds[8], "le=\"0.0009\"");
  EXPECT_EQ(bounds[9], "le=\"0.001\"");
  EXPECT_EQ(bounds[31], "le=\"0.5\"");
  EXPECT_EQ(bounds[36], "le=\"1\"");
  EXPECT_EQ(bounds[44], "le=\"9\"");
  EXPECT_EQ(bounds[45], "le=\"10\"");
  EXPECT_EQ(bounds[50], "le=\"60\"");
  EXPECT_EQ(bounds[51], "le=\"+Inf\"");
}

// Whole-uptime quantile gauges are gone: a gauge with a quantile label is not a summary,
// and promtool refuses it. Percentiles come from the histograms' buckets.
TEST_F(PrometheusTest, NoQuantileGauges) {
  const std::string text = Render();
  EXPECT_EQ(text.find("quantile"), std::string::npos);
}

// Counters end in _total and nothing else does; every family has its help.
TEST_F(PrometheusTest, NamesFollowThePrometheusConventions) {
  const std::string text = Render();
  const Exposition e = Parse(text);
  for (const auto& [family, type] : e.types) {
    EXPECT_EQ(family.ends_with("_total"), type == "counter") << family << " " << type;
    EXPECT_NE(text.find("# HELP " + family + " "), std::string::npos) << family;
  }
}

TEST_F(PrometheusTest, WorkerSeriesSumToTheTotals) {
  const StatsSnapshot snapshot = registry_.Collect();
  const Exposition e = Parse(RenderPrometheus(snapshot, proxy_, info_, process_));
  EXPECT_EQ(Sum(e, "proxynode_requests_total"), static_cast<double>(snapshot.total.requests));
  EXPECT_EQ(Sum(e, "proxynode_responses_total"),
            static_cast<double>(snapshot.total.responses_total()));
  EXPECT_EQ(Sum(e, "proxynode_connections_closed_total"),
            static_cast<double>(snapshot.total.connections_closed()));
  EXPECT_EQ(Sum(e, "proxynode_rejected_total"),
            static_cast<double>(snapshot.total.rejected_total()));
}

// RetireWorker() keeps a worker's counts in StatsSnapshot::total, but the exposition has only
// per-worker series: a retired worker's counts vanish from /metrics, so node-wide counters
// (sum over workers) go backwards, while the histograms (which keep retired workers) do not.
TEST_F(PrometheusTest, RetiredWorkerCountsStayInTheExposition) {
  registry_.RetireWorker(1);
  const StatsSnapshot snapshot = registry_.Collect();
  ASSERT_EQ(snapshot.total.requests, 12u);
  const Exposition e = Parse(RenderPrometheus(snapshot, proxy_, info_, process_));
  for (const std::string& error : e.errors) {
    ADD_FAILURE() << error;
  }
  EXPECT_EQ(Sum(e, "proxynode_requests_total"), 12.0);
  EXPECT_EQ(Sum(e, "proxynode_rejected_total"), 5.0);
  EXPECT_EQ(Sum(e, "proxynode_responses_total"), 5.0);
  EXPECT_EQ(Sum(e, "proxynode_connections_closed_total"), 3.0);
  EXPECT_EQ(Value(e, "proxynode_request_duration_seconds_count"), 3.0);
}

TEST_F(PrometheusTest, NoProxyFamiliesWhenNothingIsProxied) {
  const std::string text = Render();
  EXPECT_EQ(text.find("proxynode_upstream_"), std::string::npos);
  EXPECT_EQ(text.find("proxynode_route_"), std::string::npos);
}

class ProxyPrometheusTest : public PrometheusTest {
 protected:
  ProxyPrometheusTest() {
    auto first = proxy_registry_.ForUpstream(0, "127.0.0.1:8081");
    first->requests.Add(10);
    first->connects.Add(2);
    first->reused.Add(8);
    first->errors.first_byte_timeout.Add(1);
    first->open_connections.Set(2);
    first->idle_connections.Set(1);
    first->outstanding.Set(1);
    first->latency.Record(3 * kMillisecond);
    first->latency.Record(40 * kMillisecond);
    auto second_worker = proxy_registry_.ForUpstream(1, "127.0.0.1:8081");
    second_worker->requests.Add(5);
    second_worker->errors.broken.Add(2);
    second_worker->open_connections.Set(1);
    second_worker->latency.Record(200 * kMillisecond);
    auto other = proxy_registry_.ForUpstream(1, "backend.internal:80");
    other->requests.Add(1);
    other->ejections.Add(1);
    other->errors.connect_failed.Add(1);

    auto api = proxy_registry_.ForRoute(0, "/api/");
    api->requests.Add(16);
    api->delayed.Add(4);
    api->errors.Add(3);
    api->latency.Record(140 * kMillisecond);
    proxy_registry_.ForRoute(1, "/odd\"\\\n")->requests.Add(1);
    proxy_ = proxy_registry_.Collect();
  }

  ProxyStatsRegistry proxy_registry_;
};

TEST_F(ProxyPrometheusTest, EveryLineIsACommentOrASample) {
  const Exposition e = Parse(Render());
  for (const std::string& error : e.errors) {
    ADD_FAILURE() << error;
  }
}

TEST_F(ProxyPrometheusTest, UpstreamSeriesSumTheWorkers) {
  const std::string text = Render();
  for (const char* line : {
           "# TYPE proxynode_upstream_requests_total counter",
           "proxynode_upstream_requests_total{upstream=\"127.0.0.1:8081\"} 15",
           "proxynode_upstream_requests_total{upstream=\"backend.internal:80\"} 1",
           "proxynode_upstream_connects_total{upstream=\"127.0.0.1:8081\"} 2",
           "proxynode_upstream_reused_total{upstream=\"127.0.0.1:8081\"} 8",
           "proxynode_upstream_ejections_total{upstream=\"backend.internal:80\"} 1",
           "# TYPE proxynode_upstream_errors_total counter",
           "proxynode_upstream_errors_total{upstream=\"127.0.0.1:8081\",reason=\"first_byte_"
           "timeout\"} 1",
           "proxynode_upstream_errors_total{upstream=\"127.0.0.1:8081\",reason=\"broken\"} 2",
           "proxynode_upstream_errors_total{upstream=\"127.0.0.1:8081\",reason=\"connect_failed\"} "
           "0",
           "proxynode_upstream_errors_total{upstream=\"backend.internal:80\",reason=\"connect_"
           "failed\"} 1",
           "# TYPE proxynode_upstream_open_connections gauge",
           "proxynode_upstream_open_connections{upstream=\"127.0.0.1:8081\"} 3",
           "proxynode_upstream_idle_connections{upstream=\"127.0.0.1:8081\"} 1",
           "proxynode_upstream_outstanding{upstream=\"127.0.0.1:8081\"} 1",
           "# TYPE proxynode_upstream_latency_seconds histogram",
           "proxynode_upstream_latency_seconds_bucket{upstream=\"127.0.0.1:8081\",le=\"0.005\"} 1",
           "proxynode_upstream_latency_seconds_bucket{upstream=\"127.0.0.1:8081\",le=\"0.05\"} 2",
           "proxynode_upstream_latency_seconds_bucket{upstream=\"127.0.0.1:8081\",le=\"+Inf\"} 3",
           "proxynode_upstream_latency_seconds_count{upstream=\"127.0.0.1:8081\"} 3",
           "proxynode_upstream_latency_seconds_count{upstream=\"backend.internal:80\"} 0",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line;
  }
  const Exposition e = Parse(text);
  EXPECT_NEAR(Value(e, "proxynode_upstream_latency_seconds_sum", "upstream=\"127.0.0.1:8081\""),
              0.243, 0.003);
}

TEST_F(ProxyPrometheusTest, RouteSeries) {
  const std::string text = Render();
  for (const char* line : {
           "# TYPE proxynode_route_requests_total counter",
           "proxynode_route_requests_total{route=\"/api/\"} 16",
           "proxynode_route_delayed_total{route=\"/api/\"} 4",
           "proxynode_route_errors_total{route=\"/api/\"} 3",
           "# TYPE proxynode_route_latency_seconds histogram",
           "proxynode_route_latency_seconds_bucket{route=\"/api/\",le=\"0.2\"} 1",
           "proxynode_route_latency_seconds_bucket{route=\"/api/\",le=\"0.1\"} 0",
           "proxynode_route_latency_seconds_count{route=\"/api/\"} 1",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line;
  }
}

TEST_F(ProxyPrometheusTest, LabelValuesAreEscaped) {
  const Exposition e = Parse(Render());
  EXPECT_EQ(Value(e, "proxynode_route_requests_total", "route=\"/odd\\\"\\\\\\n\""), 1.0);
}

TEST_F(ProxyPrometheusTest, EveryDeclaredProxyStatIsExported) {
  const Exposition e = Parse(Render());
  const std::string upstream = "upstream=\"backend.internal:80\"";
#define PROXYNODE_CHECK_UPSTREAM(name, type, suffix)                         \
  EXPECT_EQ(e.types.count("proxynode_upstream_" #name suffix), 1u) << #name; \
  EXPECT_EQ(e.types.at("proxynode_upstream_" #name suffix), type) << #name;  \
  EXPECT_FALSE(std::isnan(Value(e, "proxynode_upstream_" #name suffix, upstream))) << #name;
#define PROXYNODE_CHECK_COUNTER(name, help) PROXYNODE_CHECK_UPSTREAM(name, "counter", "_total")
#define PROXYNODE_CHECK_GAUGE(name, help) PROXYNODE_CHECK_UPSTREAM(name, "gauge", "")
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_CHECK_COUNTER)
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_CHECK_GAUGE)
#undef PROXYNODE_CHECK_GAUGE
#undef PROXYNODE_CHECK_COUNTER
#undef PROXYNODE_CHECK_UPSTREAM
#define PROXYNODE_CHECK_REASON(reason, help)                                              \
  EXPECT_FALSE(std::isnan(                                                                \
      Value(e, "proxynode_upstream_errors_total", upstream + ",reason=\"" #reason "\""))) \
      << #reason;
  PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_CHECK_REASON)
#undef PROXYNODE_CHECK_REASON
#define PROXYNODE_CHECK_ROUTE(name, help)                                   \
  EXPECT_EQ(e.types.count("proxynode_route_" #name "_total"), 1u) << #name; \
  EXPECT_FALSE(std::isnan(Value(e, "proxynode_route_" #name "_total", "route=\"/api/\""))) << #name;
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_CHECK_ROUTE)
#undef PROXYNODE_CHECK_ROUTE
}

TEST_F(ProxyPrometheusTest, GrpcCallsAreCountedByStatusNameSummedOverWorkers) {
  EXPECT_EQ(Render().find("proxynode_route_grpc_calls_total"), std::string::npos)
      << "no gRPC seen: no family at all";
  proxy_registry_.ForRoute(0, "/grpc/")->CountGrpcStatus(0);
  proxy_registry_.ForRoute(1, "/grpc/")->CountGrpcStatus(0);
  proxy_registry_.ForRoute(1, "/grpc/")->CountGrpcStatus(14);
  proxy_registry_.ForRoute(1, "/grpc/")->CountGrpcStatus(99);  // read as UNKNOWN
  proxy_ = proxy_registry_.Collect();
  const Exposition e = Parse(Render());
  EXPECT_EQ(e.types.at("proxynode_route_grpc_calls_total"), "counter");
  const std::string route = "route=\"/grpc/\",grpc_status=";
  EXPECT_EQ(Value(e, "proxynode_route_grpc_calls_total", route + "\"OK\""), 2.0);
  EXPECT_EQ(Value(e, "proxynode_route_grpc_calls_total", route + "\"UNAVAILABLE\""), 1.0);
  EXPECT_EQ(Value(e, "proxynode_route_grpc_calls_total", route + "\"UNKNOWN\""), 1.0);
  EXPECT_TRUE(std::isnan(
      Value(e, "proxynode_route_grpc_calls_total", "route=\"/api/\",grpc_status=\"OK\"")))
      << "codes never seen are left out";
}

TEST_F(ProxyPrometheusTest, UpstreamsWithoutRoutesAndRoutesWithoutUpstreams) {
  proxy_.routes.clear();
  std::string text = Render();
  EXPECT_NE(text.find("proxynode_upstream_requests_total"), std::string::npos);
  EXPECT_EQ(text.find("proxynode_route_"), std::string::npos);
  proxy_ = proxy_registry_.Collect();
  proxy_.upstreams.clear();
  text = Render();
  EXPECT_EQ(text.find("proxynode_upstream_"), std::string::npos);
  EXPECT_NE(text.find("proxynode_route_requests_total"), std::string::npos);
}

}  // namespace
}  // namespace proxynode
