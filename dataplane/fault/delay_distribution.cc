#include "dataplane/fault/delay_distribution.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "absl/strings/str_cat.h"

namespace proxynode {
namespace {

// The standard normal quantile at 0.99: a log-normal's sigma is ln(p99 / median) / z99.
constexpr double kZ99 = 2.3263478740408408;
constexpr size_t kMaxTableRows = 64;

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(what)));
}

double LogNormalSigma(const DelayDistribution& d) {
  return std::log(static_cast<double>(d.p99) / static_cast<double>(d.median)) / kZ99;
}

// The table's rows with the implicit minimum in front: row i spans quantiles
// [q(i-1), q(i)] and values [v(i-1), v(i)].
Nanos EmpiricalQuantile(const std::vector<DelayQuantile>& table, double p) {
  double previous_q = 0;
  Nanos previous_v = 0;
  for (const DelayQuantile& row : table) {
    if (p <= row.quantile) {
      if (row.quantile <= previous_q) {
        return row.value;  // a row at quantile 0: the minimum itself
      }
      const double t = (p - previous_q) / (row.quantile - previous_q);
      return previous_v + static_cast<Nanos>(t * static_cast<double>(row.value - previous_v));
    }
    previous_q = row.quantile;
    previous_v = row.value;
  }
  return previous_v;  // past the last row
}

double EmpiricalCdf(const std::vector<DelayQuantile>& table, Nanos value) {
  double previous_q = 0;
  Nanos previous_v = 0;
  for (const DelayQuantile& row : table) {
    if (value < row.value) {
      if (value < previous_v) {
        return previous_q;
      }
      const double t =
          static_cast<double>(value - previous_v) / static_cast<double>(row.value - previous_v);
      return previous_q + t * (row.quantile - previous_q);
    }
    previous_q = row.quantile;
    previous_v = row.value;
  }
  return 1.0;
}

}  // namespace

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double NormalQuantile(double p) {
  // Acklam's rational approximation (relative error 1.15e-9), then one Halley step against
  // the exact CDF, which takes it to double precision.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = NormalCdf(x) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

absl::Status ValidateDelayDistribution(const DelayDistribution& d, std::string_view field) {
  switch (d.shape) {
    case DelayShape::kFixed:
      if (d.fixed < 0) return Invalid(field, "a fixed delay must not be negative");
      return absl::OkStatus();
    case DelayShape::kUniform:
      if (d.low < 0 || d.high < d.low) {
        return Invalid(field, "uniform needs 0 <= low <= high");
      }
      return absl::OkStatus();
    case DelayShape::kNormal:
      if (d.mean < 0 || d.stddev <= 0) {
        return Invalid(field, "normal needs mean >= 0 and stddev > 0");
      }
      return absl::OkStatus();
    case DelayShape::kLogNormal:
      if (d.median <= 0 || d.p99 <= d.median) {
        return Invalid(field, "lognormal needs 0 < median < p99");
      }
      return absl::OkStatus();
    case DelayShape::kPareto:
      if (d.scale <= 0 || !(d.alpha > 0) || !std::isfinite(d.alpha) || d.cap < d.scale) {
        return Invalid(field, "pareto needs scale > 0, shape > 0 and cap >= scale");
      }
      return absl::OkStatus();
    case DelayShape::kEmpirical: {
      if (d.table.empty() || d.table.size() > kMaxTableRows) {
        return Invalid(field, absl::StrCat("an empirical table needs 1 to ", kMaxTableRows,
                                           " percentile rows"));
      }
      double previous_q = -1;
      Nanos previous_v = 0;
      for (size_t i = 0; i < d.table.size(); ++i) {
        const DelayQuantile& row = d.table[i];
        const std::string row_field =
            absl::StrCat(std::string(field), ".empirical.points[", i, "]");
        if (!(row.quantile >= 0 && row.quantile <= 1) || row.quantile <= previous_q) {
          return Invalid(row_field, "percentiles must rise within [0, 100]");
        }
        if (row.value < previous_v || row.value < 0) {
          return Invalid(row_field, "values must not fall (nor be negative)");
        }
        previous_q = row.quantile;
        previous_v = row.value;
      }
      return absl::OkStatus();
    }
  }
  return Invalid(field, "unknown shape");
}

Nanos DrawDelay(const DelayDistribution& d, FaultRandom& random) {
  switch (d.shape) {
    case DelayShape::kFixed:
      return d.fixed;
    case DelayShape::kUniform:
      return d.low + static_cast<Nanos>(random.Unit() * static_cast<double>(d.high - d.low));
    case DelayShape::kNormal: {
      // Inverse CDF of the normal conditioned on >= 0: one draw, no rejection loop.
      const double mean = static_cast<double>(d.mean);
      const double stddev = static_cast<double>(d.stddev);
      const double below_zero = NormalCdf(-mean / stddev);
      const double p = below_zero + random.Unit() * (1 - below_zero);
      return std::max<Nanos>(0, static_cast<Nanos>(mean + stddev * NormalQuantile(p)));
    }
    case DelayShape::kLogNormal: {
      const double z = NormalQuantile(random.Unit());
      return static_cast<Nanos>(static_cast<double>(d.median) * std::exp(LogNormalSigma(d) * z));
    }
    case DelayShape::kPareto: {
      const double value = static_cast<double>(d.scale) / std::pow(1 - random.Unit(), 1 / d.alpha);
      return value >= static_cast<double>(d.cap) ? d.cap : static_cast<Nanos>(value);
    }
    case DelayShape::kEmpirical:
      return EmpiricalQuantile(d.table, random.Unit());
  }
  return 0;
}

double DelayCdf(const DelayDistribution& d, Nanos value) {
  const double x = static_cast<double>(value);
  switch (d.shape) {
    case DelayShape::kFixed:
      return value >= d.fixed ? 1.0 : 0.0;
    case DelayShape::kUniform:
      if (d.high == d.low) return value >= d.low ? 1.0 : 0.0;
      return std::clamp((x - static_cast<double>(d.low)) / static_cast<double>(d.high - d.low), 0.0,
                        1.0);
    case DelayShape::kNormal: {
      if (value < 0) return 0;
      const double mean = static_cast<double>(d.mean);
      const double stddev = static_cast<double>(d.stddev);
      const double below_zero = NormalCdf(-mean / stddev);
      return (NormalCdf((x - mean) / stddev) - below_zero) / (1 - below_zero);
    }
    case DelayShape::kLogNormal:
      if (value <= 0) return 0;
      return NormalCdf(std::log(x / static_cast<double>(d.median)) / LogNormalSigma(d));
    case DelayShape::kPareto:
      if (value < d.scale) return 0;
      if (value >= d.cap) return 1;
      return 1 - std::pow(static_cast<double>(d.scale) / x, d.alpha);
    case DelayShape::kEmpirical:
      return EmpiricalCdf(d.table, value);
  }
  return 0;
}

}  // namespace proxynode
