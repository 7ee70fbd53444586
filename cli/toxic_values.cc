#include "cli/toxic_values.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "cli/fault_delay_values.h"
#include "cli/fault_values.h"
#include "cli/suggest.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using google::protobuf::Duration;
using proxynode::v1::Toxic;

constexpr int64_t kMicro = 1000;
constexpr int64_t kMilli = 1000 * 1000;

// The kinds of value an attribute takes.
enum class Unit { kMillis, kMicros, kCount, kBytes, kBool, kDistribution };

struct Attribute {
  const char* name;
  Unit unit;
};

const std::vector<Attribute>& AttributesOf(std::string_view type) {
  static const std::vector<Attribute> none;
  static const std::vector<Attribute> latency = {
      {"latency", Unit::kMillis}, {"jitter", Unit::kMillis}, {"distribution", Unit::kDistribution}};
  static const std::vector<Attribute> bandwidth = {{"rate", Unit::kCount}, {"shared", Unit::kBool}};
  static const std::vector<Attribute> delay_ms = {{"delay", Unit::kMillis}};
  static const std::vector<Attribute> timeout = {{"timeout", Unit::kMillis}};
  static const std::vector<Attribute> slicer = {
      {"average_size", Unit::kBytes}, {"size_variation", Unit::kBytes}, {"delay", Unit::kMicros}};
  static const std::vector<Attribute> limit_data = {{"bytes", Unit::kBytes}};
  if (type == "latency") return latency;
  if (type == "bandwidth") return bandwidth;
  if (type == "slow_close") return delay_ms;
  if (type == "timeout" || type == "reset_peer") return timeout;
  if (type == "slicer") return slicer;
  if (type == "limit_data") return limit_data;
  return none;
}

absl::Status Bad(const std::string& assignment, const std::string& what) {
  return FlagError("-a", assignment, what);
}

// A duration: a bare number in `unit` (Toxiproxy's), or with its own unit ("250ms").
std::optional<Duration> ParseToxicDuration(const std::string& value, int64_t unit) {
  if (std::optional<uint64_t> count = ParseCount(value)) {
    if (*count > static_cast<uint64_t>(INT64_MAX / unit)) return std::nullopt;
    return DurationFromNanos(static_cast<int64_t>(*count) * unit);
  }
  std::optional<int64_t> nanos = ParseDuration(value);
  if (!nanos || *nanos < 0) return std::nullopt;
  return DurationFromNanos(*nanos);
}

std::string UnitWords(Unit unit) {
  switch (unit) {
    case Unit::kMillis:
      return "a duration in ms like 1000, or with a unit like 250ms or 1.5s";
    case Unit::kMicros:
      return "a duration in µs like 500, or with a unit like 2ms";
    case Unit::kCount:
      return "an integer >= 0";
    case Unit::kBytes:
      return "a byte count like 1024 or 16KiB";
    case Unit::kBool:
      return "true or false";
    case Unit::kDistribution:
      return "a delay distribution";
  }
  return "";
}

// The field the attribute sets, by type and name; false when the value does not parse.
bool Store(Toxic& toxic, const std::string& name, Unit unit, const std::string& value,
           absl::Status* error, const std::string& assignment) {
  std::optional<Duration> duration;
  std::optional<uint64_t> number;
  bool flag = false;
  switch (unit) {
    case Unit::kMillis:
    case Unit::kMicros:
      duration = ParseToxicDuration(value, unit == Unit::kMillis ? kMilli : kMicro);
      if (!duration) return false;
      break;
    case Unit::kCount:
      number = ParseCount(value);
      if (!number) return false;
      break;
    case Unit::kBytes:
      number = ParseSize(value);
      if (!number) return false;
      break;
    case Unit::kBool:
      if (value != "true" && value != "false") return false;
      flag = value == "true";
      break;
    case Unit::kDistribution: {
      absl::StatusOr<proxynode::v1::DelayDistribution> distribution = ParseDelay(value);
      if (!distribution.ok()) {
        // ParseDelay names --delay; here the value came as -a distribution=...
        std::string why(distribution.status().message());
        const std::string prefix = "--delay " + value + ": ";
        if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
        *error = Bad(assignment, why);
        return false;
      }
      // A distribution replaces latency and jitter (and they replace it, below).
      toxic.mutable_latency()->clear_latency();
      toxic.mutable_latency()->clear_jitter();
      *toxic.mutable_latency()->mutable_distribution() = *distribution;
      return true;
    }
  }
  switch (toxic.kind_case()) {
    case Toxic::kLatency:
      toxic.mutable_latency()->clear_distribution();
      *(name == "latency" ? toxic.mutable_latency()->mutable_latency()
                          : toxic.mutable_latency()->mutable_jitter()) = *duration;
      break;
    case Toxic::kBandwidth:
      if (name == "rate") toxic.mutable_bandwidth()->set_rate(*number);
      if (name == "shared") toxic.mutable_bandwidth()->set_shared(flag);
      break;
    case Toxic::kSlowClose:
      *toxic.mutable_slow_close()->mutable_delay() = *duration;
      break;
    case Toxic::kTimeout:
      *toxic.mutable_timeout()->mutable_timeout() = *duration;
      break;
    case Toxic::kResetPeer:
      *toxic.mutable_reset_peer()->mutable_timeout() = *duration;
      break;
    case Toxic::kSlicer:
      if (name == "average_size") toxic.mutable_slicer()->set_average_size(*number);
      if (name == "size_variation") toxic.mutable_slicer()->set_size_variation(*number);
      if (name == "delay") *toxic.mutable_slicer()->mutable_delay() = *duration;
      break;
    case Toxic::kLimitData:
      toxic.mutable_limit_data()->set_bytes(*number);
      break;
    case Toxic::kDown:
    case Toxic::KIND_NOT_SET:
      break;
  }
  return true;
}

// Sets the toxic's type (an empty message of its kind).
bool SetType(Toxic& toxic, std::string_view type) {
  if (type == "latency") {
    toxic.mutable_latency();
  } else if (type == "bandwidth") {
    toxic.mutable_bandwidth();
  } else if (type == "slow_close") {
    toxic.mutable_slow_close();
  } else if (type == "timeout") {
    toxic.mutable_timeout();
  } else if (type == "reset_peer") {
    toxic.mutable_reset_peer();
  } else if (type == "slicer") {
    toxic.mutable_slicer();
  } else if (type == "limit_data") {
    toxic.mutable_limit_data();
  } else if (type == "down") {
    toxic.mutable_down();
  } else {
    return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& words, const std::string& between) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += between;
    out += word;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& ToxicTypes() {
  static const std::vector<std::string> types = {"latency",    "bandwidth", "slow_close", "timeout",
                                                 "reset_peer", "slicer",    "limit_data", "down"};
  return types;
}

std::vector<std::string> ToxicAttributeNames(std::string_view type) {
  std::vector<std::string> names;
  for (const Attribute& attribute : AttributesOf(type)) names.push_back(attribute.name);
  return names;
}

std::string ToxicTypeName(const Toxic& toxic) {
  switch (toxic.kind_case()) {
    case Toxic::kLatency:
      return "latency";
    case Toxic::kBandwidth:
      return "bandwidth";
    case Toxic::kSlowClose:
      return "slow_close";
    case Toxic::kTimeout:
      return "timeout";
    case Toxic::kResetPeer:
      return "reset_peer";
    case Toxic::kSlicer:
      return "slicer";
    case Toxic::kLimitData:
      return "limit_data";
    case Toxic::kDown:
      return "down";
    case Toxic::KIND_NOT_SET:
      break;
  }
  return "";
}

std::string StreamName(Toxic::Stream stream) {
  return stream == Toxic::UPSTREAM ? "upstream" : "downstream";
}

std::string DefaultToxicName(std::string_view type, Toxic::Stream stream) {
  std::string name(type);
  name += '_';
  name += StreamName(stream);
  return name;
}

absl::StatusOr<double> ParseToxicity(const std::string& text) {
  const auto bad = [&text] {
    return FlagError("--toxicity", text, "must be a probability from 0 to 1, like 0.5");
  };
  if (text.empty()) return bad();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(value >= 0 && value <= 1)) return bad();
  return value;
}

absl::Status SetToxicAttribute(Toxic& toxic, const std::string& assignment) {
  const size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    return Bad(assignment, "must be KEY=VALUE, e.g. latency=1000");
  }
  const std::string key = assignment.substr(0, equals);
  const std::string value = assignment.substr(equals + 1);
  const std::string type = ToxicTypeName(toxic);
  const std::vector<std::string> names = ToxicAttributeNames(type);
  for (const Attribute& attribute : AttributesOf(type)) {
    if (key != attribute.name) continue;
    absl::Status error;
    if (Store(toxic, key, attribute.unit, value, &error, assignment)) return absl::OkStatus();
    return error.ok() ? Bad(assignment, key + " must be " + UnitWords(attribute.unit)) : error;
  }
  if (names.empty()) return Bad(assignment, "a " + type + " toxic takes no attributes");
  return Bad(assignment,
             WithSuggestion("a " + type + " toxic has no attribute " + key, key, names) +
                 "; it takes " + Join(names, ", "));
}

std::vector<std::string> SplitAttributes(const std::vector<std::string>& attributes) {
  std::vector<std::string> names;
  for (const std::string& type : ToxicTypes()) {
    for (const std::string& name : ToxicAttributeNames(type)) names.push_back(name + "=");
  }
  const auto starts_attribute = [&names](const std::string& text, size_t at) {
    for (const std::string& name : names) {
      if (text.compare(at, name.size(), name) == 0) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (const std::string& text : attributes) {
    size_t start = 0;
    for (size_t comma = text.find(','); comma != std::string::npos;
         comma = text.find(',', comma + 1)) {
      if (!starts_attribute(text, comma + 1)) continue;
      out.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    out.push_back(text.substr(start));
  }
  return out;
}

absl::Status CheckAttributeName(const std::string& assignment) {
  const size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    return Bad(assignment, "must be KEY=VALUE, e.g. latency=1000");
  }
  const std::string key = assignment.substr(0, equals);
  std::vector<std::string> names;
  for (const std::string& type : ToxicTypes()) {
    for (const std::string& name : ToxicAttributeNames(type)) {
      if (name == key) return absl::OkStatus();
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return Bad(assignment, WithSuggestion("no toxic has an attribute " + key, key, names) +
                             "; attributes: " + Join(names, ", "));
}

absl::StatusOr<Toxic> BuildToxic(const ToxicSpec& spec) {
  Toxic toxic;
  if (spec.type.empty()) {
    return absl::InvalidArgumentError("-t TYPE is needed: one of " + Join(ToxicTypes(), ", "));
  }
  if (!SetType(toxic, spec.type)) {
    return FlagError("-t", spec.type,
                     WithSuggestion("no such toxic type", spec.type, ToxicTypes()) +
                         "; types: " + Join(ToxicTypes(), ", "));
  }
  toxic.set_stream(spec.upstream ? Toxic::UPSTREAM : Toxic::DOWNSTREAM);
  toxic.set_name(spec.name.empty() ? DefaultToxicName(spec.type, toxic.stream()) : spec.name);
  if (absl::Status status = UpdateToxic(toxic, spec.attributes, spec.toxicity); !status.ok()) {
    return status;
  }
  if (toxic.has_bandwidth() && toxic.bandwidth().rate() == 0) {
    return absl::InvalidArgumentError("a bandwidth toxic needs its rate in KB/s, e.g. -a rate=100");
  }
  return toxic;
}

absl::Status UpdateToxic(Toxic& toxic, const std::vector<std::string>& attributes,
                         const std::string& toxicity) {
  for (const std::string& assignment : SplitAttributes(attributes)) {
    if (absl::Status status = SetToxicAttribute(toxic, assignment); !status.ok()) return status;
  }
  if (!toxicity.empty()) {
    absl::StatusOr<double> parsed = ParseToxicity(toxicity);
    if (!parsed.ok()) return parsed.status();
    toxic.set_toxicity(*parsed);
  }
  return absl::OkStatus();
}

}  // namespace proxyctl
