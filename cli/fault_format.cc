#include "cli/fault_format.h"

#include <cstdio>

#include "cli/stats_view.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using proxynode::v1::AbortFault;
using proxynode::v1::BandwidthFault;
using proxynode::v1::DelayDistribution;
using proxynode::v1::DelayFault;
using proxynode::v1::FaultRule;
using proxynode::v1::HeaderMatch;

// "1.5", "99.9", "25": the shortest form that reads back the same for what people type.
std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string DurationText(const google::protobuf::Duration& duration) {
  return FormatDuration(ToNanos(duration));
}

// Bytes as `fault add` takes them: "64KiB", "1MB", "512B".
std::string Size(uint64_t bytes) {
  std::string binary = FormatSizeExact(bytes);
  if (binary != std::to_string(bytes)) return binary;
  for (auto [unit, suffix] :
       {std::pair{uint64_t{1'000'000'000}, "GB"}, std::pair{uint64_t{1'000'000}, "MB"},
        std::pair{uint64_t{1000}, "KB"}}) {
    if (bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  return binary + "B";
}

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string Distribution(const DelayDistribution& d) {
  switch (d.shape_case()) {
    case DelayDistribution::kFixed:
      return DurationText(d.fixed());
    case DelayDistribution::kUniform:
      return "uniform " + DurationText(d.uniform().low()) + "-" + DurationText(d.uniform().high());
    case DelayDistribution::kNormal:
      return "normal mean=" + DurationText(d.normal().mean()) +
             " stddev=" + DurationText(d.normal().stddev());
    case DelayDistribution::kLognormal:
      return "lognormal p50=" + DurationText(d.lognormal().median()) +
             " p99=" + DurationText(d.lognormal().p99());
    case DelayDistribution::kPareto:
      return "pareto scale=" + DurationText(d.pareto().scale()) +
             " shape=" + Number(d.pareto().shape()) + " cap=" + DurationText(d.pareto().cap());
    case DelayDistribution::kEmpirical: {
      std::string rows;
      for (const auto& point : d.empirical().points()) {
        rows += " p" + Number(point.percentile()) + "=" + DurationText(point.value());
      }
      return "empirical" + rows;
    }
    case DelayDistribution::SHAPE_NOT_SET:
      break;
  }
  return "(no shape)";
}

std::string HeaderCondition(const HeaderMatch& header) {
  switch (header.kind()) {
    case HeaderMatch::EXACT:
      return "header:" + header.name() + "=" + header.value();
    case HeaderMatch::PREFIX:
      return "header:" + header.name() + "=" + header.value() + "*";
    default:
      return "header:" + header.name();
  }
}

}  // namespace

std::string FormatFaultMatch(const proxynode::v1::FaultMatch& match) {
  std::vector<std::string> conditions;
  if (!match.route().empty()) conditions.push_back("route=" + match.route());
  if (match.methods_size() > 0) {
    conditions.push_back("method=" + Join({match.methods().begin(), match.methods().end()}, ","));
  }
  if (!match.path_prefix().empty()) conditions.push_back("path=" + match.path_prefix());
  if (!match.path_exact().empty()) conditions.push_back("exact-path=" + match.path_exact());
  for (const HeaderMatch& header : match.headers()) conditions.push_back(HeaderCondition(header));
  if (match.clients_size() > 0) {
    conditions.push_back("client=" + Join({match.clients().begin(), match.clients().end()}, ","));
  }
  if (!match.upstream().empty()) conditions.push_back("upstream=" + match.upstream());
  return conditions.empty() ? "any" : Join(conditions, " ");
}

std::string FormatDelayFault(const DelayFault& delay) {
  std::string out = "delay " + Distribution(delay.distribution());
  if (delay.target() == DelayFault::RESPONSE_HEAD) out += " on head";
  if (delay.target() == DelayFault::FIRST_BYTE) out += " on first-byte";
  return out;
}

std::string FormatAbortFault(const AbortFault& abort) {
  switch (abort.kind()) {
    case AbortFault::STATUS: {
      // The node reports 0 as unset: its default is 503.
      std::string out = "abort " + std::to_string(abort.status() == 0 ? 503 : abort.status());
      std::vector<std::string> extras;
      if (!abort.body().empty()) extras.push_back("body");
      if (abort.headers_size() > 0) {
        extras.push_back(std::to_string(abort.headers_size()) +
                         (abort.headers_size() == 1 ? " header" : " headers"));
      }
      if (abort.has_grpc_status()) {
        extras.push_back("grpc-status " + std::to_string(abort.grpc_status()));
      }
      return extras.empty() ? out : out + " with " + Join(extras, " and ");
    }
    case AbortFault::RESET:
    case AbortFault::CUT: {
      std::string out = abort.kind() == AbortFault::RESET ? "abort reset" : "abort cut";
      return abort.after_bytes() == 0 ? out
                                      : out + " after=" + FormatSizeExact(abort.after_bytes());
    }
    case AbortFault::CLOSE:
      return "abort close";
    case AbortFault::SILENT:
      return "abort silent";
    default:
      return "";
  }
}

std::string FormatFaults(const FaultRule& rule) {
  std::vector<std::string> faults;
  if (rule.has_delay() && rule.delay().has_distribution()) {
    faults.push_back(FormatDelayFault(rule.delay()));
  }
  if (std::string abort = FormatAbortFault(rule.abort()); !abort.empty()) {
    faults.push_back(abort);
  }
  if (rule.bandwidth().bytes_per_second() > 0) {
    std::string bandwidth = "bandwidth " + Size(rule.bandwidth().bytes_per_second()) + "/s";
    if (rule.bandwidth().scope() == BandwidthFault::CONNECTION) bandwidth += " per connection";
    if (rule.bandwidth().scope() == BandwidthFault::RULE) bandwidth += " shared by the rule";
    faults.push_back(bandwidth);
  }
  if (rule.header_triggers().enabled()) {
    faults.push_back(rule.header_triggers().has_max_delay()
                         ? "header triggers (max " +
                               DurationText(rule.header_triggers().max_delay()) + ")"
                         : "header triggers");
  }
  if (rule.tag_response()) faults.push_back("tag");
  return faults.empty() ? "none" : Join(faults, ", ");
}

std::string FormatPercent(const FaultRule& rule) {
  return Number(rule.has_percent() ? rule.percent() : 100) + "%";
}

std::string FormatTimeLeft(const FaultRule& rule, absl::Time now) {
  if (!rule.has_expires_at()) return "-";
  const absl::Time at = absl::FromUnixSeconds(rule.expires_at().seconds()) +
                        absl::Nanoseconds(rule.expires_at().nanos());
  if (at <= now) return "expired";
  // Rounded up, as a countdown is: "0s" would read as expired.
  const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(at - now, absl::Seconds(1)));
  return FormatUptime(seconds * kNanosPerSecond);
}

std::string FormatFaultSummary(const FaultRule& rule, absl::Time now) {
  std::string out = "match " + FormatFaultMatch(rule.match()) + "; " + FormatFaults(rule) + "; " +
                    FormatPercent(rule);
  std::string left = FormatTimeLeft(rule, now);
  if (left == "expired") return out + "; expired";
  return left == "-" ? out : out + "; " + left + " left";
}

}  // namespace proxyctl
