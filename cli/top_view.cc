#include "cli/top_view.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "cli/printer.h"
#include "cli/stats_view.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using proxynode::v1::LatencySummary;
using proxynode::v1::Stats;

// One row of the busiest table: an upstream, a route or a fault rule.
struct Busy {
  std::string kind;
  std::string name;
  uint64_t requests = 0;
  double rate = -1;
  uint64_t errors = 0;
  int64_t p99 = -1;  // ns; -1: nothing measured
};

std::string Cut(std::string text, size_t width) {
  if (text.size() > width) text.resize(width);
  return text;
}

std::string P(const LatencySummary& summary, const google::protobuf::Duration& value) {
  return Percentile(summary, value);
}

int64_t P99Nanos(const LatencySummary& summary) {
  return summary.count() == 0 ? -1 : ToNanos(summary.p99());
}

template <typename Entry, typename Key, typename Value>
std::map<std::string, uint64_t> Previous(const Stats* before, Entry entries, Key key, Value value) {
  std::map<std::string, uint64_t> out;
  if (before == nullptr) return out;
  for (const auto& entry : entries(*before)) out[key(entry)] = value(entry);
  return out;
}

double RateOf(const std::map<std::string, uint64_t>& previous, const std::string& key, uint64_t now,
              std::optional<double> seconds) {
  auto it = previous.find(key);
  return it == previous.end() ? -1 : Rate(it->second, now, seconds);
}

std::vector<Busy> BusyRows(const Stats& now, const Stats* before, std::optional<double> seconds) {
  std::vector<Busy> rows;
  const auto upstreams = Previous(
      before, [](const Stats& s) { return s.upstreams(); },
      [](const proxynode::v1::UpstreamStats& u) { return u.address(); },
      [](const proxynode::v1::UpstreamStats& u) { return u.requests(); });
  for (const auto& u : now.upstreams()) {
    uint64_t errors = 0;
    for (const auto& [reason, count] : u.errors()) errors += count;
    rows.push_back({"upstream", u.address(), u.requests(),
                    RateOf(upstreams, u.address(), u.requests(), seconds), errors,
                    P99Nanos(u.latency())});
  }
  const auto routes = Previous(
      before, [](const Stats& s) { return s.routes(); },
      [](const proxynode::v1::RouteStats& r) { return r.prefix(); },
      [](const proxynode::v1::RouteStats& r) { return r.requests(); });
  for (const auto& r : now.routes()) {
    rows.push_back({"route", r.prefix(), r.requests(),
                    RateOf(routes, r.prefix(), r.requests(), seconds), r.errors(),
                    P99Nanos(r.latency())});
  }
  const auto faults = Previous(
      before, [](const Stats& s) { return s.faults(); },
      [](const proxynode::v1::FaultRuleStats& f) { return f.name(); },
      [](const proxynode::v1::FaultRuleStats& f) { return f.fired(); });
  for (const auto& f : now.faults()) {
    uint64_t aborted = 0;
    for (const auto& [kind, count] : f.aborted()) aborted += count;
    rows.push_back({"fault", f.name(), f.fired(), RateOf(faults, f.name(), f.fired(), seconds),
                    aborted, P99Nanos(f.injected_delay())});
  }
  // A TCP proxy's "requests" are its connections; its errors the ones that did not get
  // through (upstream connect failures, refused by `down` or a disabled proxy).
  const auto proxies = Previous(
      before, [](const Stats& s) { return s.tcp_proxies(); },
      [](const proxynode::v1::TcpProxyStats& p) { return p.name(); },
      [](const proxynode::v1::TcpProxyStats& p) { return p.connections(); });
  for (const auto& p : now.tcp_proxies()) {
    rows.push_back({"tcp", p.name(), p.connections(),
                    RateOf(proxies, p.name(), p.connections(), seconds),
                    p.connect_failures() + p.refused(), -1});
  }
  return rows;
}

void SortRows(std::vector<Busy>& rows, TopSort sort) {
  std::stable_sort(rows.begin(), rows.end(), [sort](const Busy& a, const Busy& b) {
    switch (sort) {
      case TopSort::kRequests:
        return a.rate != b.rate ? a.rate > b.rate : a.requests > b.requests;
      case TopSort::kErrors:
        return a.errors > b.errors;
      case TopSort::kP99:
        return a.p99 > b.p99;
      case TopSort::kName:
        return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
    }
    return false;
  });
}

std::string Lines(const std::string& block, size_t limit, size_t width, size_t* used) {
  std::string out;
  size_t start = 0;
  while (start < block.size() && *used < limit) {
    size_t end = block.find('\n', start);
    if (end == std::string::npos) end = block.size();
    out += Cut(block.substr(start, end - start), width) + "\n";
    ++*used;
    start = end + 1;
  }
  return out;
}

}  // namespace

const char* TopSortName(TopSort sort) {
  switch (sort) {
    case TopSort::kRequests:
      return "requests";
    case TopSort::kErrors:
      return "errors";
    case TopSort::kP99:
      return "p99";
    case TopSort::kName:
      return "name";
  }
  return "";
}

TopSort NextTopSort(TopSort sort) {
  switch (sort) {
    case TopSort::kRequests:
      return TopSort::kErrors;
    case TopSort::kErrors:
      return TopSort::kP99;
    case TopSort::kP99:
      return TopSort::kName;
    case TopSort::kName:
      return TopSort::kRequests;
  }
  return TopSort::kRequests;
}

std::string RenderTop(const Stats& now, const Stats* before, const TopViewOptions& options) {
  std::optional<double> seconds;
  if (before != nullptr) seconds = SecondsBetween(*before, now);
  const proxynode::v1::Counters& t = now.total();
  const proxynode::v1::Counters* b = before == nullptr ? nullptr : &before->total();
  const auto rate = [&](uint64_t value, uint64_t earlier) {
    return b == nullptr ? std::string("-") : FormatRate(Rate(earlier, value, seconds));
  };
  const auto byte_rate = [&](uint64_t value, uint64_t earlier) {
    const double r = b == nullptr ? -1 : Rate(earlier, value, seconds);
    return r < 0 ? std::string("-") : FormatBytes(static_cast<uint64_t>(r)) + "/s";
  };
  uint64_t rejected = 0, rejected_before = 0;
  for (const auto& [reason, count] : t.rejected()) rejected += count;
  if (b != nullptr) {
    for (const auto& [reason, count] : b->rejected()) rejected_before += count;
  }

  std::string block = options.address + "  " + NodeState(now) + "  config v" +
                      std::to_string(now.config_version()) + "  up " +
                      FormatUptime(ToNanos(now.uptime())) + "  workers " +
                      std::to_string(now.workers()) + "  " + options.clock + "\n";
  block += "conns " + std::to_string(t.connections_active()) + "  accepts/s " +
           rate(t.connections_accepted(), b ? b->connections_accepted() : 0) + "  req/s " +
           rate(t.requests(), b ? b->requests() : 0) + "  pending " +
           std::to_string(t.pending_timers()) + "  rejected/s " + rate(rejected, rejected_before) +
           "\n";
  block += "per second: 2xx " + rate(t.responses_2xx(), b ? b->responses_2xx() : 0) + "  4xx " +
           rate(t.responses_4xx(), b ? b->responses_4xx() : 0) + "  5xx " +
           rate(t.responses_5xx(), b ? b->responses_5xx() : 0) + "  in " +
           byte_rate(t.bytes_in(), b ? b->bytes_in() : 0) + "  out " +
           byte_rate(t.bytes_out(), b ? b->bytes_out() : 0) + "\n\n";

  Table latency({"LATENCY", "LAST_P50", "LAST_P99", "LAST_P99.9", "P50", "P99", "P99.9"});
  const auto row = [&latency](const std::string& name, const LatencySummary& last,
                              const LatencySummary& all) {
    latency.AddRow({name, P(last, last.p50()), P(last, last.p99()), P(last, last.p999()),
                    P(all, all.p50()), P(all, all.p99()), P(all, all.p999())});
  };
  row("request", now.interval_request_latency(), now.request_latency());
  row("lateness", now.interval_timer_lateness(), now.timer_lateness());
  block += latency.Render() + "\n";

  // Lines for the tables below: what the header, the latency and the keys line leave.
  const size_t keys_lines = options.keys ? 1 : 0;
  size_t used = 0;
  std::string out = Lines(block, options.height - keys_lines, options.width, &used);

  std::map<int, const proxynode::v1::Counters*> previous;
  if (before != nullptr) {
    for (const auto& w : before->per_worker()) previous[w.index()] = &w.counters();
  }
  Table workers({"WORKER", "CONNS", "REQ/S", "PENDING", "LATE_P99"});
  std::vector<const proxynode::v1::WorkerStats*> sorted;
  for (const auto& w : now.per_worker()) sorted.push_back(&w);
  // The busiest first when they do not all fit; by index otherwise.
  const size_t room = options.height - keys_lines - used;
  const bool all_fit = sorted.size() + 1 <= room / 2;
  if (!all_fit) {
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* x, const auto* y) {
      return x->counters().connections_active() > y->counters().connections_active();
    });
  }
  for (const auto* w : sorted) {
    auto it = previous.find(w->index());
    const double r =
        it == previous.end() ? -1 : Rate(it->second->requests(), w->counters().requests(), seconds);
    const LatencySummary& late =
        w->has_interval_timer_lateness() ? w->interval_timer_lateness() : w->timer_lateness();
    workers.AddRow({std::to_string(w->index()), std::to_string(w->counters().connections_active()),
                    FormatRate(r), std::to_string(w->counters().pending_timers()),
                    P(late, late.p99())});
  }
  std::vector<Busy> busy = BusyRows(now, before, seconds);
  // Workers take at most half of what is left when there are upstreams, routes or faults.
  const size_t worker_limit = busy.empty() ? room : std::max<size_t>(2, room / 2);
  out += Lines(workers.Render(), used + std::min(worker_limit, room), options.width, &used);

  if (!busy.empty() && used + 3 <= options.height - keys_lines) {
    SortRows(busy, options.sort);
    Table table({"KIND", "NAME", "REQUESTS", "REQ/S", "ERRORS", "P99"});
    for (const Busy& r : busy) {
      table.AddRow({r.kind, Cut(r.name, 28), std::to_string(r.requests), FormatRate(r.rate),
                    std::to_string(r.errors),
                    r.p99 < 0 ? std::string("-") : FormatDurationApprox(r.p99)});
    }
    out += "\n";
    ++used;
    out += Lines(table.Render(), options.height - keys_lines, options.width, &used);
  }
  if (options.keys) {
    out += Cut(std::string("q quit   s sort (now: ") + TopSortName(options.sort) + ")   every " +
                   options.interval,
               options.width) +
           "\n";
  }
  return out;
}

}  // namespace proxyctl
