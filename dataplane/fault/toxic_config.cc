#include "dataplane/fault/toxic_config.h"

#include <array>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "dataplane/fault/fault_rule.h"

namespace proxynode {
namespace {

constexpr std::array<std::pair<ToxicType, std::string_view>, 8> kTypeNames{{
    {ToxicType::kLatency, "latency"},
    {ToxicType::kBandwidth, "bandwidth"},
    {ToxicType::kSlowClose, "slow_close"},
    {ToxicType::kTimeout, "timeout"},
    {ToxicType::kResetPeer, "reset_peer"},
    {ToxicType::kSlicer, "slicer"},
    {ToxicType::kLimitData, "limit_data"},
    {ToxicType::kDown, "down"},
}};

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckTime(const std::string& field, Nanos value, Nanos most) {
  if (value < 0 || value > most) {
    return Invalid(field, absl::StrCat(absl::FormatDuration(absl::Nanoseconds(value)),
                                       " is out of range [0s, ",
                                       absl::FormatDuration(absl::Nanoseconds(most)), "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckAttributes(const ToxicConfig& toxic, const std::string& field) {
  switch (toxic.type) {
    case ToxicType::kLatency:
      if (toxic.distribution) {
        return ValidateDelayDistribution(*toxic.distribution, field + ".distribution");
      }
      if (absl::Status s = CheckTime(field + ".latency", toxic.latency, ToxicBounds::kMaxTime);
          !s.ok()) {
        return s;
      }
      return CheckTime(field + ".jitter", toxic.jitter, ToxicBounds::kMaxTime);
    case ToxicType::kBandwidth:
      // 0 is no limit, as in Toxiproxy.
      if (toxic.rate > ToxicBounds::kMaxRateKBps * 1000) {
        return Invalid(field + ".rate",
                       absl::StrCat(toxic.rate / 1000, " KB/s is out of range [0, 1000000000]"));
      }
      return absl::OkStatus();
    case ToxicType::kSlowClose:
      return CheckTime(field + ".delay", toxic.delay, ToxicBounds::kMaxTime);
    case ToxicType::kTimeout:
    case ToxicType::kResetPeer:
      return CheckTime(field + ".timeout", toxic.timeout, ToxicBounds::kMaxTime);
    case ToxicType::kSlicer:
      if (toxic.average_size < 1 || toxic.average_size > ToxicBounds::kMaxSliceBytes) {
        return Invalid(field + ".average_size",
                       absl::StrCat(toxic.average_size, " is out of range [1, 1048576]"));
      }
      if (toxic.size_variation >= toxic.average_size) {
        return Invalid(field + ".size_variation",
                       absl::StrCat(toxic.size_variation, " must be below average_size (",
                                    toxic.average_size, ")"));
      }
      return CheckTime(field + ".delay", toxic.delay, ToxicBounds::kMaxSlicerDelay);
    case ToxicType::kLimitData:
    case ToxicType::kDown:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ToxicTypeName(ToxicType type) {
  for (const auto& [value, name] : kTypeNames) {
    if (value == type) return name;
  }
  return "unknown";
}

std::optional<ToxicType> ParseToxicType(std::string_view name) {
  for (const auto& [value, type_name] : kTypeNames) {
    if (type_name == name) return value;
  }
  return std::nullopt;
}

std::string_view ToxicStreamName(ToxicStream stream) {
  return stream == ToxicStream::kUpstream ? "upstream" : "downstream";
}

std::string DefaultToxicName(ToxicType type, ToxicStream stream) {
  std::string name(ToxicTypeName(type));
  name += '_';
  name += ToxicStreamName(stream);
  return name;
}

absl::Status ValidateToxics(const std::vector<ToxicConfig>& toxics, std::string_view field_view) {
  const std::string field(field_view);
  if (toxics.size() > ToxicBounds::kMaxToxicsPerProxy) {
    return Invalid(absl::StrCat(field, ".toxics"), absl::StrCat(toxics.size(), " toxics; at most ",
                                                                ToxicBounds::kMaxToxicsPerProxy));
  }
  absl::flat_hash_set<std::string_view> names;
  for (const ToxicConfig& toxic : toxics) {
    const std::string toxic_field = absl::StrCat(field, ".toxics[", toxic.name, "]");
    if (!IsResourceName(toxic.name)) {
      return Invalid(absl::StrCat(field, ".toxics.name"),
                     absl::StrCat("\"", absl::CEscape(toxic.name),
                                  "\" must be 1-64 characters of A-Z a-z 0-9 . _ -"));
    }
    if (!names.insert(toxic.name).second) {
      return Invalid(toxic_field, "the name is used twice");
    }
    if (!(toxic.toxicity >= 0 && toxic.toxicity <= 1)) {
      return Invalid(toxic_field + ".toxicity",
                     absl::StrCat(toxic.toxicity, " is out of range [0, 1]"));
    }
    if (absl::Status status = CheckAttributes(toxic, toxic_field); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace proxynode
