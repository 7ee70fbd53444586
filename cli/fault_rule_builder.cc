#include "cli/fault_rule_builder.h"

#include <cctype>

#include "cli/fault_delay_values.h"
#include "cli/fault_values.h"

namespace proxyctl {
namespace {

using proxynode::v1::AbortFault;
using proxynode::v1::BandwidthFault;
using proxynode::v1::DelayFault;
using proxynode::v1::FaultMatch;
using proxynode::v1::FaultRule;

// Refuses the first of the `needed` flags that was given (its bool) when `base` was not.
absl::Status Needs(const std::vector<std::pair<const char*, bool>>& needed, const char* base,
                   bool has_base) {
  for (const auto& [flag, given] : needed) {
    if (given && !has_base) {
      return absl::InvalidArgumentError(std::string(flag) + " needs " + base);
    }
  }
  return absl::OkStatus();
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

absl::StatusOr<FaultMatch> BuildMatch(const FaultAddOptions& options) {
  FaultMatch match;
  match.set_route(options.route);
  match.set_path_prefix(options.path);
  match.set_path_exact(options.exact_path);
  match.set_upstream(options.upstream);
  for (const std::string& methods : options.methods) {
    absl::StatusOr<std::vector<std::string>> list = ParseFlagList("--method", methods);
    if (!list.ok()) return list.status();
    for (const std::string& method : *list) match.add_methods(Upper(method));
  }
  for (const std::string& clients : options.clients) {
    absl::StatusOr<std::vector<std::string>> list = ParseFlagList("--client", clients);
    if (!list.ok()) return list.status();
    for (const std::string& client : *list) match.add_clients(client);
  }
  for (const std::string& header : options.headers) {
    absl::StatusOr<proxynode::v1::HeaderMatch> parsed = ParseHeaderMatch(header);
    if (!parsed.ok()) return parsed.status();
    *match.add_headers() = *parsed;
  }
  return match;
}

absl::Status AddDelay(const FaultAddOptions& options, FaultRule& rule) {
  if (absl::Status needs =
          Needs({{"--delay-on", !options.delay_on.empty()}}, "--delay", !options.delay.empty());
      !needs.ok()) {
    return needs;
  }
  if (options.delay.empty()) return absl::OkStatus();
  absl::StatusOr<proxynode::v1::DelayDistribution> distribution = ParseDelay(options.delay);
  if (!distribution.ok()) return distribution.status();
  DelayFault* delay = rule.mutable_delay();
  *delay->mutable_distribution() = *distribution;
  if (options.delay_on.empty() || options.delay_on == "request") {
    delay->set_target(DelayFault::REQUEST);
  } else if (options.delay_on == "head") {
    delay->set_target(DelayFault::RESPONSE_HEAD);
  } else if (options.delay_on == "first-byte") {
    delay->set_target(DelayFault::FIRST_BYTE);
  } else {
    return FlagError("--delay-on", options.delay_on, "must be request, head or first-byte");
  }
  return absl::OkStatus();
}

absl::Status AddAbort(const FaultAddOptions& options, FaultRule& rule) {
  const bool has_extras = !options.abort_body.empty() || !options.abort_headers.empty() ||
                          !options.abort_grpc_status.empty();
  if (absl::Status needs = Needs({{"--abort-body", !options.abort_body.empty()},
                                  {"--abort-header", !options.abort_headers.empty()},
                                  {"--abort-grpc-status", !options.abort_grpc_status.empty()}},
                                 "--abort", !options.abort.empty());
      !needs.ok()) {
    return needs;
  }
  if (absl::Status needs = Needs({{"--abort-grpc-message", !options.abort_grpc_message.empty()}},
                                 "--abort-grpc-status", !options.abort_grpc_status.empty());
      !needs.ok()) {
    return needs;
  }
  if (options.abort.empty()) return absl::OkStatus();
  absl::StatusOr<AbortFault> abort = ParseAbort(options.abort);
  if (!abort.ok()) return abort.status();
  if (has_extras && abort->kind() != AbortFault::STATUS) {
    return FlagError("--abort", options.abort,
                     "--abort-body, --abort-header and --abort-grpc-status go with a status abort "
                     "only (e.g. 503)");
  }
  if (!options.abort_grpc_status.empty()) {
    absl::StatusOr<uint32_t> code = ParseGrpcStatus(options.abort_grpc_status);
    if (!code.ok()) return code.status();
    abort->set_grpc_status(*code);
    abort->set_grpc_message(options.abort_grpc_message);
  }
  abort->set_body(options.abort_body);
  for (const std::string& header : options.abort_headers) {
    absl::StatusOr<AbortFault::Header> parsed = ParseAbortHeader(header);
    if (!parsed.ok()) return parsed.status();
    *abort->add_headers() = *parsed;
  }
  *rule.mutable_abort() = *abort;
  return absl::OkStatus();
}

absl::Status AddBandwidth(const FaultAddOptions& options, FaultRule& rule) {
  if (absl::Status needs = Needs({{"--bandwidth-scope", !options.bandwidth_scope.empty()}},
                                 "--bandwidth", !options.bandwidth.empty());
      !needs.ok()) {
    return needs;
  }
  if (options.bandwidth.empty()) return absl::OkStatus();
  absl::StatusOr<uint64_t> rate = ParseBandwidth(options.bandwidth);
  if (!rate.ok()) return rate.status();
  BandwidthFault* bandwidth = rule.mutable_bandwidth();
  bandwidth->set_bytes_per_second(*rate);
  const std::string& scope = options.bandwidth_scope;
  if (scope.empty() || scope == "response") {
    bandwidth->set_scope(BandwidthFault::RESPONSE);
  } else if (scope == "connection") {
    bandwidth->set_scope(BandwidthFault::CONNECTION);
  } else if (scope == "rule") {
    bandwidth->set_scope(BandwidthFault::RULE);
  } else {
    return FlagError("--bandwidth-scope", scope, "must be response, connection or rule");
  }
  return absl::OkStatus();
}

absl::Status AddTriggers(const FaultAddOptions& options, FaultRule& rule) {
  if (absl::Status needs = Needs({{"--trigger-max-delay", !options.trigger_max_delay.empty()}},
                                 "--header-triggers", options.header_triggers);
      !needs.ok()) {
    return needs;
  }
  if (!options.header_triggers) return absl::OkStatus();
  rule.mutable_header_triggers()->set_enabled(true);
  if (!options.trigger_max_delay.empty()) {
    absl::StatusOr<google::protobuf::Duration> max_delay =
        ParseFlagDuration("--trigger-max-delay", options.trigger_max_delay, false);
    if (!max_delay.ok()) return max_delay.status();
    *rule.mutable_header_triggers()->mutable_max_delay() = *max_delay;
  }
  return absl::OkStatus();
}

// --percent, --for / --until, --tag.
absl::Status AddHowOftenAndHowLong(const FaultAddOptions& options, absl::Time now,
                                   FaultRule& rule) {
  if (!options.percent.empty()) {
    absl::StatusOr<double> percent = ParsePercent(options.percent);
    if (!percent.ok()) return percent.status();
    rule.set_percent(*percent);
  }
  if (!options.for_duration.empty() && !options.until.empty()) {
    return absl::InvalidArgumentError("--for and --until both set the expiry; give one");
  }
  if (!options.for_duration.empty()) {
    absl::StatusOr<google::protobuf::Duration> after =
        ParseFlagDuration("--for", options.for_duration, true);
    if (!after.ok()) return after.status();
    *rule.mutable_expires_after() = *after;
  }
  if (!options.until.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> at = ParseUntil(options.until, now);
    if (!at.ok()) return at.status();
    *rule.mutable_expires_at() = *at;
  }
  rule.set_tag_response(options.tag);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FaultRule> BuildFaultRule(const FaultAddOptions& options, absl::Time now) {
  FaultRule rule;
  rule.set_name(options.name);
  absl::StatusOr<FaultMatch> match = BuildMatch(options);
  if (!match.ok()) return match.status();
  *rule.mutable_match() = *match;
  for (auto add : {AddDelay, AddAbort, AddBandwidth, AddTriggers}) {
    if (absl::Status status = add(options, rule); !status.ok()) return status;
  }
  if (!rule.has_delay() && !rule.has_abort() && !rule.has_bandwidth() &&
      !rule.has_header_triggers()) {
    return absl::InvalidArgumentError(
        "no fault: give --delay, --abort, --bandwidth or --header-triggers");
  }
  if (absl::Status status = AddHowOftenAndHowLong(options, now, rule); !status.ok()) {
    return status;
  }
  return rule;
}

}  // namespace proxyctl
