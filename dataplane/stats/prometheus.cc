#include "dataplane/stats/prometheus.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/stats/prometheus_text.h"

namespace proxynode {

void Header(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// The shortest text that reads back as `value` (absl::StrCat keeps 6 digits only, too few
// for a start time or a large sum).
std::string Number(double value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  return error == std::errc() ? std::string(text, end) : "NaN";
}

// Seconds, exactly, from nanoseconds: 100000 -> "0.0001".
std::string SecondsText(Nanos ns) {
  std::string text = absl::StrCat(ns / kSecond);
  if (const Nanos fraction = ns % kSecond; fraction != 0) {
    std::string digits = absl::StrCat(kSecond + fraction).substr(1);  // nine digits
    digits.erase(digits.find_last_not_of('0') + 1);
    absl::StrAppend(&text, ".", digits);
  }
  return text;
}

// The `le` label of each exposed bound, formatted once.
const std::vector<std::string>& BucketLabels() {
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    for (Nanos bound : LatencyHistogram::kExposedBounds) {
      out.push_back(absl::StrCat("le=\"", SecondsText(bound), "\""));
    }
    return out;
  }();
  return labels;
}

// The samples of one histogram series; `labels` ("a=\"b\"" or empty) go before `le`. The
// bucket counts are exact: the histogram's buckets are split at the exposed bounds.
void HistogramSeries(std::string& out, const char* name, const std::string& labels,
                     const HistogramSnapshot& histogram) {
  const char* comma = labels.empty() ? "" : ",";
  const auto counts = histogram.CountsAtExposedBounds();
  const std::vector<std::string>& le = BucketLabels();
  for (size_t i = 0; i < counts.size(); ++i) {
    absl::StrAppend(&out, name, "_bucket{", labels, comma, le[i], "} ", counts[i], "\n");
  }
  uint64_t count = histogram.count();
  absl::StrAppend(&out, name, "_bucket{", labels, comma, "le=\"+Inf\"} ", count, "\n");
  const std::string braced = labels.empty() ? "" : absl::StrCat("{", labels, "}");
  absl::StrAppend(&out, name, "_sum", braced, " ", Number(histogram.ApproximateSum() / 1e9), "\n");
  absl::StrAppend(&out, name, "_count", braced, " ", count, "\n");
}

void Histogram(std::string& out, const char* name, const char* help,
               const HistogramSnapshot& histogram) {
  Header(out, name, "histogram", help);
  HistogramSeries(out, name, "", histogram);
}

// `label="key"` for each row, escaped once and shared by all of the rows' families.
template <typename Row>
std::vector<std::string> KeyLabels(const std::vector<Row>& rows, const char* label,
                                   std::string Row::*key) {
  std::vector<std::string> labels;
  labels.reserve(rows.size());
  for (const Row& row : rows) {
    labels.push_back(absl::StrCat(label, "=\"", EscapeLabelValue(row.*key), "\""));
  }
  return labels;
}

// One sample per row: name{labels[i]} value(rows[i]).
template <typename Row, typename ValueOf>
void Samples(std::string& out, const char* name, const std::vector<std::string>& labels,
             const std::vector<Row>& rows, ValueOf value_of) {
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StrAppend(&out, name, "{", labels[i], "} ", value_of(rows[i]), "\n");
  }
}

void RenderUpstreams(std::string& out, const std::vector<UpstreamStatsValues>& upstreams) {
  if (upstreams.empty()) {
    return;
  }
  const std::vector<std::string> labels =
      KeyLabels(upstreams, "upstream", &UpstreamStatsValues::address);
#define PROXYNODE_RENDER_COUNTER(name, help)                            \
  Header(out, "proxynode_upstream_" #name "_total", "counter", help);   \
  Samples(out, "proxynode_upstream_" #name "_total", labels, upstreams, \
          [](const UpstreamStatsValues& u) { return u.name; });
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_RENDER_COUNTER)
#undef PROXYNODE_RENDER_COUNTER

  Header(out, "proxynode_upstream_errors_total", "counter",
         "Requests to this upstream that failed, by reason");
  for (size_t i = 0; i < upstreams.size(); ++i) {
#define PROXYNODE_RENDER_ERROR(reason, help)                           \
  absl::StrAppend(&out, "proxynode_upstream_errors_total{", labels[i], \
                  ",reason=\"" #reason "\"} ", upstreams[i].errors.reason, "\n");
    PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_RENDER_ERROR)
#undef PROXYNODE_RENDER_ERROR
  }

#define PROXYNODE_RENDER_GAUGE(name, help)                     \
  Header(out, "proxynode_upstream_" #name, "gauge", help);     \
  Samples(out, "proxynode_upstream_" #name, labels, upstreams, \
          [](const UpstreamStatsValues& u) { return u.name; });
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_RENDER_GAUGE)
#undef PROXYNODE_RENDER_GAUGE

  Header(out, "proxynode_upstream_latency_seconds", "histogram",
         "Time from request forwarded to last response byte received from the upstream");
  for (size_t i = 0; i < upstreams.size(); ++i) {
    HistogramSeries(out, "proxynode_upstream_latency_seconds", labels[i], upstreams[i].latency);
  }
}

void RenderRoutes(std::string& out, const std::vector<RouteStatsValues>& routes) {
  if (routes.empty()) {
    return;
  }
  const std::vector<std::string> labels = KeyLabels(routes, "route", &RouteStatsValues::prefix);
#define PROXYNODE_RENDER_COUNTER(name, help)                       \
  Header(out, "proxynode_route_" #name "_total", "counter", help); \
  Samples(out, "proxynode_route_" #name "_total", labels, routes,  \
          [](const RouteStatsValues& r) { return r.name; });
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_RENDER_COUNTER)
#undef PROXYNODE_RENDER_COUNTER

  // Only the codes seen: most routes carry no gRPC at all.
  const bool any_grpc = std::any_of(routes.begin(), routes.end(), [](const RouteStatsValues& r) {
    return std::any_of(r.grpc_status.begin(), r.grpc_status.end(),
                       [](uint64_t count) { return count != 0; });
  });
  if (any_grpc) {
    Header(out, "proxynode_route_grpc_calls_total", "counter",
           "Proxied gRPC calls on this route by the grpc-status their client got");
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    for (size_t code = 0; code < kGrpcStatusCount; ++code) {
      if (routes[i].grpc_status[code] != 0) {
        absl::StrAppend(
            &out, "proxynode_route_grpc_calls_total{", labels[i], ",grpc_status=\"",
            absl::string_view(kGrpcStatusNames[code].data(), kGrpcStatusNames[code].size()), "\"} ",
            routes[i].grpc_status[code], "\n");
      }
    }
  }

  Header(out, "proxynode_route_latency_seconds", "histogram",
         "Time from a request's arrival to its response written on this route, delay included");
  for (size_t i = 0; i < routes.size(); ++i) {
    HistogramSeries(out, "proxynode_route_latency_seconds", labels[i], routes[i].latency);
  }
}

void RenderFaultRules(std::string& out, const std::vector<FaultRuleStatsValues>& rules) {
  if (rules.empty()) {
    return;
  }
  const std::vector<std::string> labels = KeyLabels(rules, "rule", &FaultRuleStatsValues::name);
#define PROXYNODE_RENDER_COUNTER(name, help)                       \
  Header(out, "proxynode_fault_" #name "_total", "counter", help); \
  Samples(out, "proxynode_fault_" #name "_total", labels, rules,   \
          [](const FaultRuleStatsValues& r) { return r.name; });
  PROXYNODE_FAULT_COUNTERS(PROXYNODE_RENDER_COUNTER)
#undef PROXYNODE_RENDER_COUNTER

  Header(out, "proxynode_fault_aborted_total", "counter", "Requests a fault rule aborted, by kind");
  for (size_t i = 0; i < rules.size(); ++i) {
#define PROXYNODE_RENDER_ABORT(kind, help)                                                    \
  absl::StrAppend(&out, "proxynode_fault_aborted_total{", labels[i], ",kind=\"" #kind "\"} ", \
                  rules[i].aborted.kind, "\n");
    PROXYNODE_FAULT_ABORTS(PROXYNODE_RENDER_ABORT)
#undef PROXYNODE_RENDER_ABORT
  }

  Header(out, "proxynode_fault_injected_delay_seconds", "histogram",
         "Delays a fault rule injected");
  for (size_t i = 0; i < rules.size(); ++i) {
    HistogramSeries(out, "proxynode_fault_injected_delay_seconds", labels[i],
                    rules[i].injected_delay);
  }
}

void RenderProcess(std::string& out, const ProcessStats& process) {
  Header(out, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds");
  absl::StrAppend(&out, "process_cpu_seconds_total ", Number(process.cpu_seconds), "\n");
  Header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  absl::StrAppend(&out, "process_resident_memory_bytes ", process.resident_memory_bytes, "\n");
  Header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes");
  absl::StrAppend(&out, "process_virtual_memory_bytes ", process.virtual_memory_bytes, "\n");
  Header(out, "process_open_fds", "gauge", "Number of open file descriptors");
  absl::StrAppend(&out, "process_open_fds ", process.open_fds, "\n");
  Header(out, "process_max_fds", "gauge", "Maximum number of open file descriptors");
  absl::StrAppend(&out, "process_max_fds ", process.max_fds, "\n");
  Header(out, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds");
  absl::StrAppend(&out, "process_start_time_seconds ", Number(process.start_time_seconds), "\n");
}

}  // namespace

std::string RenderPrometheus(const StatsSnapshot& stats, const ProxyStatsSnapshot& proxy,
                             const NodeInfo& info, const ProcessStats& process) {
  std::string out;
  out.reserve(65536);
  // One series per live worker, plus worker="retired" for the counts of retired workers.
  struct Series {
    std::string worker;
    const StatsValues* values;
  };
  std::vector<Series> series;
  for (const WorkerStatsValues& w : stats.workers) {
    series.push_back({absl::StrCat(w.index), &w.values});
  }
  if (stats.has_retired) {
    series.push_back({"retired", &stats.retired});
  }

#define PROXYNODE_RENDER_COUNTER(name, metric, help)                                 \
  Header(out, "proxynode_" #metric "_total", "counter", help);                       \
  for (const Series& s : series) {                                                   \
    absl::StrAppend(&out, "proxynode_" #metric "_total{worker=\"", s.worker, "\"} ", \
                    s.values->name, "\n");                                           \
  }
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_RENDER_COUNTER)
#undef PROXYNODE_RENDER_COUNTER

  Header(out, "proxynode_responses_total", "counter", "Responses sent, by status class");
#define PROXYNODE_RENDER_CLASS(status_class)                                                       \
  for (const Series& s : series) {                                                                 \
    absl::StrAppend(&out, "proxynode_responses_total{worker=\"", s.worker,                         \
                    "\",class=\"" #status_class "\"} ", s.values->responses_##status_class, "\n"); \
  }
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_RENDER_CLASS)
#undef PROXYNODE_RENDER_CLASS

  Header(out, "proxynode_connections_closed_total", "counter",
         "Client connections closed, by reason (each close under one)");
#define PROXYNODE_RENDER_CLOSE(reason, help)                                         \
  for (const Series& s : series) {                                                   \
    absl::StrAppend(&out, "proxynode_connections_closed_total{worker=\"", s.worker,  \
                    "\",reason=\"" #reason "\"} ", s.values->closed_##reason, "\n"); \
  }
  PROXYNODE_CLOSE_REASONS(PROXYNODE_RENDER_CLOSE)
#undef PROXYNODE_RENDER_CLOSE

  Header(out, "proxynode_rejected_total", "counter",
         "Requests or connections refused by a limit, by reason");
#define PROXYNODE_RENDER_REJECTION(reason, help)                                     \
  for (const Series& s : series) {                                                   \
    absl::StrAppend(&out, "proxynode_rejected_total{worker=\"", s.worker,            \
                    "\",reason=\"" #reason "\"} ", s.values->rejected.reason, "\n"); \
  }
  PROXYNODE_REJECTION_REASONS(PROXYNODE_RENDER_REJECTION)
#undef PROXYNODE_RENDER_REJECTION

#define PROXYNODE_RENDER_GAUGE(name, help)                                                        \
  Header(out, "proxynode_" #name, "gauge", help);                                                 \
  for (const WorkerStatsValues& w : stats.workers) {                                              \
    absl::StrAppend(&out, "proxynode_" #name "{worker=\"", w.index, "\"} ", w.values.name, "\n"); \
  }
  PROXYNODE_WORKER_GAUGES(PROXYNODE_RENDER_GAUGE)
#undef PROXYNODE_RENDER_GAUGE

  Histogram(out, "proxynode_request_duration_seconds",
            "Time from a request's arrival to its response written, delay included",
            stats.request_latency);
  Histogram(out, "proxynode_timer_lateness_seconds",
            "How late delayed responses left compared with their deadline", stats.timer_lateness);
  Header(out, "proxynode_worker_timer_lateness_seconds", "histogram",
         "How late delayed responses left compared with their deadline, per worker");
  for (const WorkerStatsValues& w : stats.workers) {
    HistogramSeries(out, "proxynode_worker_timer_lateness_seconds",
                    absl::StrCat("worker=\"", w.index, "\""), w.timer_lateness);
  }

  Header(out, "proxynode_config_version", "gauge", "Version of the configuration in force");
  absl::StrAppend(&out, "proxynode_config_version ", info.config_version, "\n");
  Header(out, "proxynode_config_reloads_total", "counter",
         "Reloads of the watched config file, by result: ok (applied), unchanged (the same "
         "config), error (refused; the running config stays)");
#define PROXYNODE_RENDER_RELOAD(result, help)                                      \
  absl::StrAppend(&out, "proxynode_config_reloads_total{result=\"" #result "\"} ", \
                  info.config_reloads.result, "\n");
  PROXYNODE_CONFIG_RELOAD_RESULTS(PROXYNODE_RENDER_RELOAD)
#undef PROXYNODE_RENDER_RELOAD
  if (info.access_log_on) {
    Header(out, "proxynode_access_log_dropped_total", "counter",
           "Access-log lines dropped because the writer lagged behind the workers");
    absl::StrAppend(&out, "proxynode_access_log_dropped_total ", info.access_log_dropped, "\n");
  }
  Header(out, "proxynode_build_info", "gauge",
         "Always 1; the labels say what the running binary was built from");
  absl::StrAppend(&out, "proxynode_build_info{version=\"", EscapeLabelValue(info.build.version),
                  "\",commit=\"", EscapeLabelValue(info.build.commit), "\",build_type=\"",
                  EscapeLabelValue(info.build.build_type), "\"} 1\n");
  Header(out, "proxynode_workers", "gauge", "Worker threads serving traffic");
  absl::StrAppend(&out, "proxynode_workers ", info.workers, "\n");
  Header(out, "proxynode_draining", "gauge", "1 while the node drains before exit");
  absl::StrAppend(&out, "proxynode_draining ", info.draining ? 1 : 0, "\n");
  Header(out, "proxynode_uptime_seconds", "gauge", "Seconds since start");
  absl::StrAppend(&out, "proxynode_uptime_seconds ", Number(info.uptime_seconds), "\n");
  Header(out, "proxynode_open_files_limit", "gauge", "RLIMIT_NOFILE (the connection ceiling)");
  absl::StrAppend(&out, "proxynode_open_files_limit{kind=\"soft\"} ", info.fd_soft_limit, "\n");
  absl::StrAppend(&out, "proxynode_open_files_limit{kind=\"hard\"} ", info.fd_hard_limit, "\n");
  Header(out, "proxynode_node_connections", "gauge", "Open client connections, node-wide");
  absl::StrAppend(&out, "proxynode_node_connections ", info.connections, "\n");
  Header(out, "proxynode_node_pending_requests", "gauge",
         "Requests waiting on their delay, node-wide (compared with max_pending)");
  absl::StrAppend(&out, "proxynode_node_pending_requests ", info.pending_requests, "\n");
  Header(out, "proxynode_node_active_faults", "gauge",
         "Delays and throttled responses running now, node-wide (compared with "
         "max_active_faults)");
  absl::StrAppend(&out, "proxynode_node_active_faults ", info.active_faults, "\n");

  RenderProcess(out, process);
  RenderUpstreams(out, proxy.upstreams);
  RenderRoutes(out, proxy.routes);
  RenderFaultRules(out, proxy.faults);
  return out;
}

}  // namespace proxynode
