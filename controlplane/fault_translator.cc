#include "controlplane/fault_translator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "controlplane/proto_duration.h"
#include "dataplane/http/http_parser.h"

namespace proxynode {

absl::StatusOr<DelayDistribution> DistributionFromProto(const std::string& field,
                                                        const v1::DelayDistribution& proto) {
  DelayDistribution d;
  absl::Status status;
  using Proto = v1::DelayDistribution;
  switch (proto.shape_case()) {
    case Proto::kFixed:
      d.shape = DelayShape::kFixed;
      status.Update(CopyDurationIfSet(field + ".fixed", true, proto.fixed(), d.fixed));
      break;
    case Proto::kUniform:
      d.shape = DelayShape::kUniform;
      status.Update(CopyDurationIfSet(field + ".uniform.low", true, proto.uniform().low(), d.low));
      status.Update(
          CopyDurationIfSet(field + ".uniform.high", true, proto.uniform().high(), d.high));
      break;
    case Proto::kNormal:
      d.shape = DelayShape::kNormal;
      status.Update(CopyDurationIfSet(field + ".normal.mean", true, proto.normal().mean(), d.mean));
      status.Update(
          CopyDurationIfSet(field + ".normal.stddev", true, proto.normal().stddev(), d.stddev));
      break;
    case Proto::kLognormal:
      d.shape = DelayShape::kLogNormal;
      status.Update(CopyDurationIfSet(field + ".lognormal.median", true, proto.lognormal().median(),
                                      d.median));
      status.Update(
          CopyDurationIfSet(field + ".lognormal.p99", true, proto.lognormal().p99(), d.p99));
      break;
    case Proto::kPareto:
      d.shape = DelayShape::kPareto;
      status.Update(
          CopyDurationIfSet(field + ".pareto.scale", true, proto.pareto().scale(), d.scale));
      d.alpha = proto.pareto().shape();
      status.Update(CopyDurationIfSet(field + ".pareto.cap", true, proto.pareto().cap(), d.cap));
      break;
    case Proto::kEmpirical:
      d.shape = DelayShape::kEmpirical;
      for (int i = 0; i < proto.empirical().points_size(); ++i) {
        const Proto::Empirical::Point& point = proto.empirical().points(i);
        DelayQuantile row;
        row.quantile = point.percentile() / 100.0;
        status.Update(CopyDurationIfSet(absl::StrCat(field, ".empirical.points[", i, "].value"),
                                        true, point.value(), row.value));
        d.table.push_back(row);
      }
      break;
    case Proto::SHAPE_NOT_SET:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": no shape (fixed, uniform, normal, lognormal, pareto, empirical)"));
  }
  if (!status.ok()) {
    return status;
  }
  return d;
}

v1::DelayDistribution ToProto(const DelayDistribution& d) {
  v1::DelayDistribution proto;
  switch (d.shape) {
    case DelayShape::kFixed:
      *proto.mutable_fixed() = ToProtoDuration(d.fixed);
      break;
    case DelayShape::kUniform:
      *proto.mutable_uniform()->mutable_low() = ToProtoDuration(d.low);
      *proto.mutable_uniform()->mutable_high() = ToProtoDuration(d.high);
      break;
    case DelayShape::kNormal:
      *proto.mutable_normal()->mutable_mean() = ToProtoDuration(d.mean);
      *proto.mutable_normal()->mutable_stddev() = ToProtoDuration(d.stddev);
      break;
    case DelayShape::kLogNormal:
      *proto.mutable_lognormal()->mutable_median() = ToProtoDuration(d.median);
      *proto.mutable_lognormal()->mutable_p99() = ToProtoDuration(d.p99);
      break;
    case DelayShape::kPareto:
      *proto.mutable_pareto()->mutable_scale() = ToProtoDuration(d.scale);
      proto.mutable_pareto()->set_shape(d.alpha);
      *proto.mutable_pareto()->mutable_cap() = ToProtoDuration(d.cap);
      break;
    case DelayShape::kEmpirical:
      for (const DelayQuantile& row : d.table) {
        auto* point = proto.mutable_empirical()->add_points();
        point->set_percentile(row.quantile * 100.0);
        *point->mutable_value() = ToProtoDuration(row.value);
      }
      break;
  }
  return proto;
}

namespace {

absl::StatusOr<FaultMatch> MatchFromProto(const std::string& field, const v1::FaultMatch& proto) {
  FaultMatch match;
  match.route = proto.route();
  for (int i = 0; i < proto.methods_size(); ++i) {
    std::optional<uint32_t> bit = MethodBit(absl::AsciiStrToUpper(proto.methods(i)));
    if (!bit) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".methods[", i, "]: \"", proto.methods(i),
                       "\" is not GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE or CONNECT"));
    }
    match.methods |= *bit;
  }
  match.path_prefix = proto.path_prefix();
  match.path_exact = proto.path_exact();
  for (const v1::HeaderMatch& header : proto.headers()) {
    HeaderMatch converted;
    converted.name = absl::AsciiStrToLower(header.name());
    converted.kind = header.kind() == v1::HeaderMatch::EXACT    ? HeaderMatchKind::kExact
                     : header.kind() == v1::HeaderMatch::PREFIX ? HeaderMatchKind::kPrefix
                                                                : HeaderMatchKind::kPresent;
    converted.value = header.value();
    match.headers.push_back(std::move(converted));
  }
  for (int i = 0; i < proto.clients_size(); ++i) {
    absl::StatusOr<ClientRange> range = ParseClientRange(proto.clients(i));
    if (!range.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".clients[", i, "]: ", range.status().message()));
    }
    match.clients.push_back(*std::move(range));
  }
  match.upstream = proto.upstream();
  return match;
}

v1::FaultMatch ToProto(const FaultMatch& match) {
  v1::FaultMatch proto;
  proto.set_route(match.route);
  for (std::string_view name :
       {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}) {
    if (match.methods & *MethodBit(name)) {
      proto.add_methods(std::string(name));
    }
  }
  proto.set_path_prefix(match.path_prefix);
  proto.set_path_exact(match.path_exact);
  for (const HeaderMatch& header : match.headers) {
    v1::HeaderMatch* converted = proto.add_headers();
    converted->set_name(header.name);
    converted->set_kind(header.kind == HeaderMatchKind::kExact    ? v1::HeaderMatch::EXACT
                        : header.kind == HeaderMatchKind::kPrefix ? v1::HeaderMatch::PREFIX
                                                                  : v1::HeaderMatch::PRESENT);
    converted->set_value(header.value);
  }
  for (const ClientRange& range : match.clients) {
    proto.add_clients(range.text);
  }
  proto.set_upstream(match.upstream);
  return proto;
}

AbortKind ToAbortKind(v1::AbortFault::Kind kind) {
  switch (kind) {
    case v1::AbortFault::STATUS:
      return AbortKind::kStatus;
    case v1::AbortFault::RESET:
      return AbortKind::kReset;
    case v1::AbortFault::CLOSE:
      return AbortKind::kClose;
    case v1::AbortFault::CUT:
      return AbortKind::kCut;
    case v1::AbortFault::SILENT:
      return AbortKind::kSilent;
    default:
      return AbortKind::kNone;
  }
}

v1::AbortFault::Kind ToProto(AbortKind kind) {
  switch (kind) {
    case AbortKind::kStatus:
      return v1::AbortFault::STATUS;
    case AbortKind::kReset:
      return v1::AbortFault::RESET;
    case AbortKind::kClose:
      return v1::AbortFault::CLOSE;
    case AbortKind::kCut:
      return v1::AbortFault::CUT;
    case AbortKind::kSilent:
      return v1::AbortFault::SILENT;
    case AbortKind::kNone:
      break;
  }
  return v1::AbortFault::NONE;
}

}  // namespace

absl::StatusOr<FaultRule> FaultRuleFromProto(const std::string& field, const v1::FaultRule& proto,
                                             absl::Time now) {
  FaultRule rule;
  rule.name = proto.name();
  absl::StatusOr<FaultMatch> match = MatchFromProto(field + ".match", proto.match());
  if (!match.ok()) {
    return match.status();
  }
  rule.match = *std::move(match);
  if (proto.has_percent()) {
    rule.percent = proto.percent();
  }
  if (proto.has_delay() && proto.delay().has_distribution()) {
    absl::StatusOr<DelayDistribution> distribution =
        DistributionFromProto(field + ".delay", proto.delay().distribution());
    if (!distribution.ok()) {
      return distribution.status();
    }
    DelayFault delay;
    delay.distribution = *std::move(distribution);
    delay.target = proto.delay().target() == v1::DelayFault::RESPONSE_HEAD
                       ? DelayTarget::kResponseHead
                   : proto.delay().target() == v1::DelayFault::FIRST_BYTE ? DelayTarget::kFirstByte
                                                                          : DelayTarget::kRequest;
    rule.delay = std::move(delay);
  }
  const v1::AbortFault& abort = proto.abort();
  rule.abort.kind = ToAbortKind(abort.kind());
  if (abort.kind() != v1::AbortFault::NONE && rule.abort.kind == AbortKind::kNone) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".abort.kind: unknown kind ", static_cast<int>(abort.kind())));
  }
  if (abort.status() != 0) {
    rule.abort.status = static_cast<int>(abort.status());
  }
  rule.abort.body = abort.body();
  for (const v1::AbortFault::Header& header : abort.headers()) {
    rule.abort.headers.emplace_back(header.name(), header.value());
  }
  rule.abort.after_bytes = abort.after_bytes();
  if (abort.has_grpc_status()) {
    // Past int's range it would wrap: clamp so that validation names it out of range.
    rule.abort.grpc_status = static_cast<int>(std::min<uint32_t>(abort.grpc_status(), 1u << 16));
  }
  rule.abort.grpc_message = abort.grpc_message();
  rule.bandwidth.bytes_per_second = proto.bandwidth().bytes_per_second();
  rule.bandwidth.scope =
      proto.bandwidth().scope() == v1::BandwidthFault::CONNECTION ? BandwidthScope::kConnection
      : proto.bandwidth().scope() == v1::BandwidthFault::RULE     ? BandwidthScope::kRule
                                                                  : BandwidthScope::kResponse;
  const v1::HeaderTriggers& triggers = proto.header_triggers();
  rule.header_triggers.enabled = triggers.enabled();
  absl::Status status =
      CopyDurationIfSet(field + ".header_triggers.max_delay", triggers.has_max_delay(),
                        triggers.max_delay(), rule.header_triggers.max_delay);
  if (!status.ok()) {
    return status;
  }
  if (triggers.min_abort_status() != 0) {
    rule.header_triggers.min_abort_status = static_cast<int>(triggers.min_abort_status());
  }
  if (triggers.max_abort_status() != 0) {
    rule.header_triggers.max_abort_status = static_cast<int>(triggers.max_abort_status());
  }
  if (triggers.min_bytes_per_second() != 0) {
    rule.header_triggers.min_bytes_per_second = triggers.min_bytes_per_second();
  }
  if (proto.has_expires_after()) {
    Nanos after = 0;
    status = CopyDurationIfSet(field + ".expires_after", true, proto.expires_after(), after);
    if (!status.ok()) {
      return status;
    }
    if (after <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".expires_after: must be positive"));
    }
    rule.expires_at_unix_nanos = absl::ToUnixNanos(now) + after;
  } else if (proto.has_expires_at()) {
    const auto& at = proto.expires_at();
    if (at.seconds() < 0 || at.seconds() > 9'000'000'000 || at.nanos() < 0 ||
        at.nanos() >= 1'000'000'000) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".expires_at: out of range"));
    }
    rule.expires_at_unix_nanos = at.seconds() * kSecond + at.nanos();
  }
  rule.tag_response = proto.tag_response();
  return rule;
}

v1::FaultRule ToProto(const FaultRule& rule) {
  v1::FaultRule proto;
  proto.set_name(rule.name);
  *proto.mutable_match() = ToProto(rule.match);
  proto.set_percent(rule.percent);
  if (rule.delay) {
    *proto.mutable_delay()->mutable_distribution() = ToProto(rule.delay->distribution);
    proto.mutable_delay()->set_target(
        rule.delay->target == DelayTarget::kResponseHead ? v1::DelayFault::RESPONSE_HEAD
        : rule.delay->target == DelayTarget::kFirstByte  ? v1::DelayFault::FIRST_BYTE
                                                         : v1::DelayFault::REQUEST);
  }
  if (rule.abort.kind != AbortKind::kNone) {
    v1::AbortFault* abort = proto.mutable_abort();
    abort->set_kind(ToProto(rule.abort.kind));
    abort->set_status(static_cast<uint32_t>(rule.abort.status));
    abort->set_body(rule.abort.body);
    for (const auto& [name, value] : rule.abort.headers) {
      v1::AbortFault::Header* header = abort->add_headers();
      header->set_name(name);
      header->set_value(value);
    }
    abort->set_after_bytes(rule.abort.after_bytes);
    if (rule.abort.grpc_status >= 0) {
      abort->set_grpc_status(static_cast<uint32_t>(rule.abort.grpc_status));
    }
    abort->set_grpc_message(rule.abort.grpc_message);
  }
  if (rule.bandwidth.bytes_per_second > 0) {
    proto.mutable_bandwidth()->set_bytes_per_second(rule.bandwidth.bytes_per_second);
    proto.mutable_bandwidth()->set_scope(
        rule.bandwidth.scope == BandwidthScope::kConnection ? v1::BandwidthFault::CONNECTION
        : rule.bandwidth.scope == BandwidthScope::kRule     ? v1::BandwidthFault::RULE
                                                            : v1::BandwidthFault::RESPONSE);
  }
  if (rule.header_triggers.enabled) {
    v1::HeaderTriggers* triggers = proto.mutable_header_triggers();
    triggers->set_enabled(true);
    *triggers->mutable_max_delay() = ToProtoDuration(rule.header_triggers.max_delay);
    triggers->set_min_abort_status(static_cast<uint32_t>(rule.header_triggers.min_abort_status));
    triggers->set_max_abort_status(static_cast<uint32_t>(rule.header_triggers.max_abort_status));
    triggers->set_min_bytes_per_second(rule.header_triggers.min_bytes_per_second);
  }
  if (rule.expires_at_unix_nanos != 0) {
    proto.mutable_expires_at()->set_seconds(rule.expires_at_unix_nanos / kSecond);
    proto.mutable_expires_at()->set_nanos(
        static_cast<int32_t>(rule.expires_at_unix_nanos % kSecond));
  }
  proto.set_tag_response(rule.tag_response);
  return proto;
}

}  // namespace proxynode
