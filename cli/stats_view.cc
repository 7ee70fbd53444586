#include "cli/stats_view.h"

#include <algorithm>
#include <map>

#include "cli/units.h"
#include "google/protobuf/descriptor.h"

namespace proxyctl {
namespace {

using google::protobuf::FieldDescriptor;
using proxynode::v1::Counters;
using proxynode::v1::LatencySummary;
using proxynode::v1::Stats;

// Counters (uint64, totals since start) and gauges (int64) are told apart by their type,
// so a counter added to the proto shows up here without a change.
void AddCounterRows(const Counters& now, const Counters* before, std::optional<double> seconds,
                    bool hide_zero, Table& table) {
  const google::protobuf::Reflection* reflection = now.GetReflection();
  for (int i = 0; i < Counters::descriptor()->field_count(); ++i) {
    const FieldDescriptor* field = Counters::descriptor()->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_UINT64 || field->is_repeated()) continue;
    uint64_t value = reflection->GetUInt64(now, field);
    if (hide_zero && value == 0) continue;
    double rate =
        before == nullptr ? -1 : Rate(reflection->GetUInt64(*before, field), value, seconds);
    // Byte counters in human units, like every size proxyctl shows.
    const bool bytes = field->name().rfind("bytes_", 0) == 0;
    table.AddRow(
        {field->name(), bytes ? FormatBytes(value) : std::to_string(value),
         bytes && rate >= 0 ? FormatBytes(static_cast<uint64_t>(rate)) + "/s" : FormatRate(rate)});
  }
  // Sorted by reason, so rows keep their place from frame to frame in `top`.
  std::map<std::string, uint64_t> rejected(now.rejected().begin(), now.rejected().end());
  for (const auto& [reason, value] : rejected) {
    if (hide_zero && value == 0) continue;
    double rate = -1;
    if (before != nullptr) {
      auto it = before->rejected().find(reason);
      rate = Rate(it == before->rejected().end() ? 0 : it->second, value, seconds);
    }
    table.AddRow({"rejected/" + reason, std::to_string(value), FormatRate(rate)});
  }
}

Row LatencyRow(const std::string& name, const LatencySummary& summary) {
  return {name,
          std::to_string(summary.count()),
          Percentile(summary, summary.p50()),
          Percentile(summary, summary.p90()),
          Percentile(summary, summary.p99()),
          Percentile(summary, summary.p999())};
}

// "broken=2 connect_timeout=1" (or "OK=4 UNAVAILABLE=1"): the non-zero counts by name, sorted;
// "-" when there are none.
std::string ErrorReasons(const google::protobuf::Map<std::string, uint64_t>& errors) {
  std::map<std::string, uint64_t> sorted(errors.begin(), errors.end());
  std::string out;
  for (const auto& [reason, count] : sorted) {
    if (count == 0) continue;
    if (!out.empty()) out += ' ';
    out += reason + "=" + std::to_string(count);
  }
  return out.empty() ? "-" : out;
}

// Requests of each key in the previous sample, for the REQ/S column (the set of upstreams
// and routes may change between samples).
template <typename Rows, typename KeyOf>
std::map<std::string, uint64_t> RequestsByKey(const Rows& rows, KeyOf key_of) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : rows) out[key_of(row)] = row.requests();
  return out;
}

double KeyRate(const std::map<std::string, uint64_t>& previous, const std::string& key,
               uint64_t requests, const Stats* before, std::optional<double> seconds) {
  if (before == nullptr) return -1;
  auto it = previous.find(key);
  return Rate(it == previous.end() ? 0 : it->second, requests, seconds);
}

std::string UpstreamTable(const Stats& now, const Stats* before, std::optional<double> seconds) {
  std::map<std::string, uint64_t> previous;
  if (before != nullptr) {
    previous = RequestsByKey(before->upstreams(),
                             [](const proxynode::v1::UpstreamStats& u) { return u.address(); });
  }
  // BY_REASON last: its cell can be long, and a row's last cell is not padded.
  Table table({"UPSTREAM", "REQUESTS", "REQ/S", "CONNECTS", "REUSED", "OPEN", "IDLE", "OUTSTANDING",
               "P50", "P99", "ERRORS", "BY_REASON"});
  for (const proxynode::v1::UpstreamStats& u : now.upstreams()) {
    uint64_t errors = 0;
    for (const auto& [reason, count] : u.errors()) errors += count;
    table.AddRow({u.address(), std::to_string(u.requests()),
                  FormatRate(KeyRate(previous, u.address(), u.requests(), before, seconds)),
                  std::to_string(u.connects()), std::to_string(u.reused()),
                  std::to_string(u.open_connections()), std::to_string(u.idle_connections()),
                  std::to_string(u.outstanding()), Percentile(u.latency(), u.latency().p50()),
                  Percentile(u.latency(), u.latency().p99()), std::to_string(errors),
                  ErrorReasons(u.errors())});
  }
  return table.Render();
}

std::string RouteTable(const Stats& now, const Stats* before, std::optional<double> seconds) {
  std::map<std::string, uint64_t> previous;
  if (before != nullptr) {
    previous = RequestsByKey(before->routes(),
                             [](const proxynode::v1::RouteStats& r) { return r.prefix(); });
  }
  // GRPC (proxied calls by grpc-status) only once a route carried gRPC, and last: its cell
  // can be long, and a row's last cell is not padded.
  const bool grpc = std::any_of(now.routes().begin(), now.routes().end(),
                                [](const auto& r) { return !r.grpc_status().empty(); });
  std::vector<std::string> columns = {"ROUTE",  "REQUESTS", "REQ/S", "DELAYED",
                                      "ERRORS", "P50",      "P99"};
  if (grpc) columns.push_back("GRPC");
  Table table(columns);
  for (const proxynode::v1::RouteStats& r : now.routes()) {
    std::vector<std::string> row = {
        r.prefix(),
        std::to_string(r.requests()),
        FormatRate(KeyRate(previous, r.prefix(), r.requests(), before, seconds)),
        std::to_string(r.delayed()),
        std::to_string(r.errors()),
        Percentile(r.latency(), r.latency().p50()),
        Percentile(r.latency(), r.latency().p99())};
    if (grpc) row.push_back(ErrorReasons(r.grpc_status()));
    table.AddRow(row);
  }
  return table.Render();
}

// One row per fault rule ever configured: how often it matched and fired, what it did, and
// the delays it injected.
std::string FaultTable(const Stats& now, const Stats* before, std::optional<double> seconds) {
  std::map<std::string, uint64_t> previous;
  if (before != nullptr) {
    for (const proxynode::v1::FaultRuleStats& r : before->faults()) previous[r.name()] = r.fired();
  }
  Table table({"FAULT", "MATCHED", "FIRED", "FIRED/S", "DELAYED", "ABORTED", "THROTTLED",
               "OVERFLOWED", "DELAY_P50", "DELAY_P99"});
  for (const proxynode::v1::FaultRuleStats& r : now.faults()) {
    uint64_t aborted = 0;
    for (const auto& [kind, count] : r.aborted()) aborted += count;
    table.AddRow({r.name(), std::to_string(r.matched()), std::to_string(r.fired()),
                  FormatRate(KeyRate(previous, r.name(), r.fired(), before, seconds)),
                  std::to_string(r.delayed()), std::to_string(aborted),
                  std::to_string(r.throttled()), std::to_string(r.overflowed()),
                  Percentile(r.injected_delay(), r.injected_delay().p50()),
                  Percentile(r.injected_delay(), r.injected_delay().p99())});
  }
  return table.Render();
}

// One row per TCP proxy ever configured: its relays, bytes each way (and of them spliced),
// what went wrong or was injected, and how often its toxics' draws hit.
std::string TcpProxyTable(const Stats& now) {
  Table table({"TCP_PROXY", "CONNECTIONS", "ACTIVE", "BYTES_UP", "BYTES_DOWN", "SPLICED",
               "CONNECT_FAILS", "RESETS", "TIMEOUTS", "REFUSED", "TOXICS_APPLIED",
               "TOXICS_SKIPPED"});
  for (const proxynode::v1::TcpProxyStats& p : now.tcp_proxies()) {
    uint64_t applied = 0;
    uint64_t skipped = 0;
    for (const proxynode::v1::ToxicStats& toxic : p.toxics()) {
      applied += toxic.applied();
      skipped += toxic.skipped();
    }
    table.AddRow({p.name(), std::to_string(p.connections()), std::to_string(p.active()),
                  FormatBytes(p.bytes_upstream()), FormatBytes(p.bytes_downstream()),
                  FormatBytes(p.bytes_spliced()), std::to_string(p.connect_failures()),
                  std::to_string(p.resets_injected()), std::to_string(p.timeouts_injected()),
                  std::to_string(p.refused()), std::to_string(applied), std::to_string(skipped)});
  }
  return table.Render();
}

}  // namespace

int64_t ToNanos(const google::protobuf::Duration& duration) {
  return duration.seconds() * kNanosPerSecond + duration.nanos();
}

std::optional<double> SecondsBetween(const Stats& before, const Stats& after) {
  int64_t elapsed = ToNanos(after.uptime()) - ToNanos(before.uptime());
  if (elapsed <= 0) return std::nullopt;
  return static_cast<double>(elapsed) / 1e9;
}

double Rate(uint64_t before, uint64_t after, std::optional<double> seconds) {
  if (!seconds || after < before) return -1;
  return static_cast<double>(after - before) / *seconds;
}

void FillRates(const Stats& before, Stats& after) {
  std::optional<double> seconds = SecondsBetween(before, after);
  double requests = Rate(before.total().requests(), after.total().requests(), seconds);
  double accepts =
      Rate(before.total().connections_accepted(), after.total().connections_accepted(), seconds);
  after.set_requests_per_second(requests < 0 ? 0 : requests);
  after.set_accepts_per_second(accepts < 0 ? 0 : accepts);
}

std::string Percentile(const LatencySummary& summary, const google::protobuf::Duration& value) {
  return summary.count() == 0 ? "-" : FormatDurationApprox(ToNanos(value));
}

std::string NodeState(const Stats& stats) { return stats.draining() ? "draining" : "serving"; }

std::string RenderStats(const Stats& now, const Stats* before, const StatsViewOptions& options) {
  std::optional<double> seconds;
  if (before != nullptr) seconds = SecondsBetween(*before, now);
  std::string out =
      "node " + options.address + "   " + NodeState(now) + "   config version " +
      std::to_string(now.config_version()) + "   uptime " + FormatUptime(ToNanos(now.uptime())) +
      "   workers " + std::to_string(now.workers()) + "   fd limit " +
      std::to_string(now.fd_soft_limit()) + "/" + std::to_string(now.fd_hard_limit()) + "\n\n";

  Table counters({"COUNTER", "TOTAL", "PER_SECOND"});
  AddCounterRows(now.total(), before == nullptr ? nullptr : &before->total(), seconds,
                 options.hide_zero_counters, counters);
  if (!counters.empty()) out += counters.Render() + "\n";

  Table gauges({"GAUGE", "VALUE"});
  gauges.AddRow({"connections_active", std::to_string(now.total().connections_active())});
  gauges.AddRow({"pending_timers", std::to_string(now.total().pending_timers())});
  gauges.AddRow({"buffer_blocks_in_use", std::to_string(now.total().buffer_blocks_in_use())});
  out += gauges.Render() + "\n";

  // From WatchStats: the last interval alone, where a bad minute shows, beside the figures
  // since start.
  const bool has_interval = now.has_interval_timer_lateness();
  const std::string last =
      seconds ? "last " + FormatDurationApprox(static_cast<int64_t>(*seconds * 1e9)) : "last";
  Table latency({"LATENCY", "OVER", "COUNT", "P50", "P90", "P99", "P99.9"});
  const auto add = [&latency](const std::string& name, const std::string& over,
                              const LatencySummary& summary) {
    Row row = LatencyRow(name, summary);
    row.insert(row.begin() + 1, over);
    latency.AddRow(std::move(row));
  };
  if (now.has_interval_request_latency()) add("request", last, now.interval_request_latency());
  add("request", "since start", now.request_latency());
  if (has_interval) add("timer_lateness", last, now.interval_timer_lateness());
  add("timer_lateness", "since start", now.timer_lateness());
  out += latency.Render() + "\n";

  // Workers are matched by index: after a change of `workers` the set differs.
  std::map<int, const Counters*> previous;
  if (before != nullptr) {
    for (const auto& worker : before->per_worker()) previous[worker.index()] = &worker.counters();
  }
  // LATE_P99: the worker's timer lateness p99, over the last interval when the message has one.
  Table workers({"WORKER", "CONNECTIONS", "ACCEPTED", "REQUESTS", "REQ/S", "BYTES_IN", "BYTES_OUT",
                 "PENDING", "LATE_P99"});
  for (const auto& worker : now.per_worker()) {
    const Counters& c = worker.counters();
    auto it = previous.find(worker.index());
    double rate = it == previous.end() ? -1 : Rate(it->second->requests(), c.requests(), seconds);
    const LatencySummary& lateness =
        has_interval ? worker.interval_timer_lateness() : worker.timer_lateness();
    workers.AddRow({std::to_string(worker.index()), std::to_string(c.connections_active()),
                    std::to_string(c.connections_accepted()), std::to_string(c.requests()),
                    FormatRate(rate), FormatBytes(c.bytes_in()), FormatBytes(c.bytes_out()),
                    std::to_string(c.pending_timers()), Percentile(lateness, lateness.p99())});
  }
  out += workers.Render();
  // Only a node that proxies has these; a plain node's view stays as it was. (Appended in
  // two steps: "\n" + table makes GCC 12 at -O3 fail on a false -Wrestrict, GCC bug 105329.)
  if (now.upstreams_size() > 0) out.append("\n").append(UpstreamTable(now, before, seconds));
  if (now.routes_size() > 0) out.append("\n").append(RouteTable(now, before, seconds));
  if (now.faults_size() > 0) out.append("\n").append(FaultTable(now, before, seconds));
  if (now.tcp_proxies_size() > 0) out.append("\n").append(TcpProxyTable(now));
  return out;
}

}  // namespace proxyctl
