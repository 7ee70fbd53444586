#include "cli/fault_delay_values.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

#include "cli/fault_values.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using google::protobuf::Duration;
using proxynode::v1::DelayDistribution;

constexpr char kForms[] =
    "must be a duration like 250ms, or SHAPE:PARAMETERS: fixed:250ms, uniform:10ms-50ms, "
    "normal:mean=50ms,stddev=10ms, lognormal:p50=40ms,p99=900ms, "
    "pareto:scale=10ms,shape=1.5,cap=2s, empirical:p50=20ms,p90=80ms,p99=400ms";

// One "key=value" of the parameters, in the order given.
struct Parameter {
  std::string key;
  std::string value;
};

// Reads the parameters after "SHAPE:" and converts them, naming the whole --delay value in
// every error.
class DelayParser {
 public:
  explicit DelayParser(const std::string& text) : text_(text) {}

  absl::Status Error(const std::string& what) const { return FlagError("--delay", text_, what); }

  // "a=1,b=2" into parameters; a missing '=', an empty key or a repeated key is an error.
  absl::StatusOr<std::vector<Parameter>> Split(const std::string& parameters) const {
    std::vector<Parameter> out;
    size_t start = 0;
    while (true) {
      const size_t comma = parameters.find(',', start);
      const std::string item =
          parameters.substr(start, comma == std::string::npos ? comma : comma - start);
      const size_t equals = item.find('=');
      if (equals == std::string::npos || equals == 0) {
        return Error("\"" + item + "\" is not KEY=VALUE");
      }
      for (const Parameter& seen : out) {
        if (seen.key == item.substr(0, equals)) return Error(seen.key + " is given twice");
      }
      out.push_back({item.substr(0, equals), item.substr(equals + 1)});
      if (comma == std::string::npos) return out;
      start = comma + 1;
    }
  }

  // Exactly the `keys` of `shape`, in any order, as a map.
  absl::StatusOr<std::map<std::string, std::string>> Named(
      const std::string& shape, const std::string& parameters,
      const std::vector<std::string>& keys) const {
    std::string wanted;
    for (const std::string& key : keys) wanted += (wanted.empty() ? "" : ", ") + key + "=";
    if (parameters.empty()) return Error(shape + " needs " + wanted);
    absl::StatusOr<std::vector<Parameter>> split = Split(parameters);
    if (!split.ok()) return split.status();
    std::map<std::string, std::string> named;
    for (const Parameter& parameter : *split) named[parameter.key] = parameter.value;
    for (const Parameter& parameter : *split) {
      if (std::find(keys.begin(), keys.end(), parameter.key) == keys.end()) {
        return Error(shape + " takes " + wanted + " (not " + parameter.key + "=)");
      }
    }
    for (const std::string& key : keys) {
      if (named.count(key) == 0) return Error(shape + " needs " + wanted);
    }
    return named;
  }

  // A duration >= 0, named by its key in errors.
  absl::StatusOr<Duration> TakeDuration(const std::string& key, const std::string& value) const {
    std::optional<int64_t> nanos = ParseDuration(value);
    if (!nanos || *nanos < 0) {
      return Error(key + " must be a duration >= 0 like 40ms or 1.5s, not \"" + value + "\"");
    }
    return DurationFromNanos(*nanos);
  }

  // A plain decimal number ("1.5", "99.9").
  absl::StatusOr<double> TakeNumber(const std::string& key, const std::string& value) const {
    bool plain = !value.empty();
    for (char c : value) plain = plain && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
    char* end = nullptr;
    const double number = plain ? std::strtod(value.c_str(), &end) : 0;
    if (!plain || end != value.c_str() + value.size() || !std::isfinite(number)) {
      return Error(key + " must be a number like 1.5, not \"" + value + "\"");
    }
    return number;
  }

 private:
  const std::string& text_;
};

// Sets each of `fields` (key, target) from `named`; the first error wins.
absl::Status TakeDurations(const DelayParser& parser,
                           const std::map<std::string, std::string>& named,
                           const std::vector<std::pair<std::string, Duration*>>& fields) {
  for (const auto& [key, target] : fields) {
    absl::StatusOr<Duration> duration = parser.TakeDuration(key, named.at(key));
    if (!duration.ok()) return duration.status();
    *target = *duration;
  }
  return absl::OkStatus();
}

absl::StatusOr<DelayDistribution> Uniform(const DelayParser& parser,
                                          const std::string& parameters) {
  // "10ms-50ms": a duration has no '-' but a leading sign, so the first '-' after the first
  // character divides them.
  const size_t dash = parameters.find('-', 1);
  if (dash == std::string::npos) return parser.Error("uniform needs LOW-HIGH, e.g. 10ms-50ms");
  DelayDistribution distribution;
  absl::StatusOr<Duration> low = parser.TakeDuration("low", parameters.substr(0, dash));
  if (!low.ok()) return low.status();
  absl::StatusOr<Duration> high = parser.TakeDuration("high", parameters.substr(dash + 1));
  if (!high.ok()) return high.status();
  *distribution.mutable_uniform()->mutable_low() = *low;
  *distribution.mutable_uniform()->mutable_high() = *high;
  return distribution;
}

absl::StatusOr<DelayDistribution> Empirical(const DelayParser& parser,
                                            const std::string& parameters) {
  if (parameters.empty()) return parser.Error("empirical needs percentile rows like p50=20ms");
  absl::StatusOr<std::vector<Parameter>> split = parser.Split(parameters);
  if (!split.ok()) return split.status();
  DelayDistribution distribution;
  for (const Parameter& row : *split) {
    if (row.key.size() < 2 || row.key[0] != 'p') {
      return parser.Error("empirical takes percentile rows like p50=20ms, not " + row.key + "=");
    }
    absl::StatusOr<double> percentile = parser.TakeNumber(row.key, row.key.substr(1));
    if (!percentile.ok()) return percentile.status();
    absl::StatusOr<Duration> value = parser.TakeDuration(row.key, row.value);
    if (!value.ok()) return value.status();
    auto* point = distribution.mutable_empirical()->add_points();
    point->set_percentile(*percentile);
    *point->mutable_value() = *value;
  }
  return distribution;
}

}  // namespace

absl::StatusOr<DelayDistribution> ParseDelay(const std::string& text) {
  DelayParser parser(text);
  DelayDistribution distribution;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    std::optional<int64_t> nanos = ParseDuration(text);
    if (!nanos || *nanos < 0) return parser.Error(kForms);
    *distribution.mutable_fixed() = DurationFromNanos(*nanos);
    return distribution;
  }
  const std::string shape = text.substr(0, colon);
  const std::string parameters = text.substr(colon + 1);
  if (shape == "fixed") {
    absl::StatusOr<Duration> fixed = parser.TakeDuration("fixed", parameters);
    if (!fixed.ok()) return fixed.status();
    *distribution.mutable_fixed() = *fixed;
    return distribution;
  }
  if (shape == "uniform") return Uniform(parser, parameters);
  if (shape == "empirical") return Empirical(parser, parameters);
  absl::Status status;
  if (shape == "normal") {
    auto named = parser.Named(shape, parameters, {"mean", "stddev"});
    if (!named.ok()) return named.status();
    auto* normal = distribution.mutable_normal();
    status = TakeDurations(
        parser, *named, {{"mean", normal->mutable_mean()}, {"stddev", normal->mutable_stddev()}});
  } else if (shape == "lognormal") {
    auto named = parser.Named(shape, parameters, {"p50", "p99"});
    if (!named.ok()) return named.status();
    auto* lognormal = distribution.mutable_lognormal();
    status = TakeDurations(
        parser, *named, {{"p50", lognormal->mutable_median()}, {"p99", lognormal->mutable_p99()}});
  } else if (shape == "pareto") {
    auto named = parser.Named(shape, parameters, {"scale", "shape", "cap"});
    if (!named.ok()) return named.status();
    auto* pareto = distribution.mutable_pareto();
    status = TakeDurations(parser, *named,
                           {{"scale", pareto->mutable_scale()}, {"cap", pareto->mutable_cap()}});
    absl::StatusOr<double> alpha = parser.TakeNumber("shape", named->at("shape"));
    if (status.ok() && !alpha.ok()) status = alpha.status();
    if (alpha.ok()) pareto->set_shape(*alpha);
  } else {
    return parser.Error("unknown shape \"" + shape +
                        "\"; shapes: fixed, uniform, normal, lognormal, pareto, empirical");
  }
  if (!status.ok()) return status;
  return distribution;
}

}  // namespace proxyctl
