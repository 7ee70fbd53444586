#include "cli/units.h"

#include <cinttypes>
#include <cstdio>
#include <limits>

namespace proxyctl {
namespace {

constexpr int64_t kMicro = 1'000;
constexpr int64_t kMilli = 1'000'000;
constexpr int64_t kMinute = 60 * kNanosPerSecond;
constexpr int64_t kHour = 60 * kMinute;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Nanoseconds per unit; 0 for an unknown unit. Units are case-sensitive, as in Go: "m" is
// minutes and "M" would be ambiguous.
int64_t DurationUnit(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return kMicro;  // µs, μs
  if (unit == "ms") return kMilli;
  if (unit == "s") return kNanosPerSecond;
  if (unit == "m") return kMinute;
  if (unit == "h") return kHour;
  return 0;
}

// "<whole>.<fraction>" of `value / unit`, fraction digits trimmed of trailing zeros.
std::string ExactInUnit(uint64_t value, uint64_t unit, const char* suffix) {
  std::string out = std::to_string(value / unit);
  uint64_t rest = value % unit;
  if (rest != 0) {
    std::string digits;
    for (uint64_t scale = unit / 10; scale > 0; scale /= 10) {
      digits.push_back(static_cast<char>('0' + rest / scale));
      rest %= scale;
    }
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + suffix;
}

// About four significant digits, trailing zeros trimmed: 1.234, 12.34, 123.4, 1234.
std::string Significant(double value) {
  char buffer[64];
  int decimals = value < 10 ? 3 : value < 100 ? 2 : value < 1000 ? 1 : 0;
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string out = buffer;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

}  // namespace

std::optional<int64_t> ParseDuration(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  // __int128 holds any sum of terms that fit int64 without overflow checks on each step.
  __int128 total = 0;
  constexpr __int128 kLimit = std::numeric_limits<int64_t>::max();
  while (!text.empty()) {
    size_t i = 0;
    __int128 whole = 0;
    while (i < text.size() && IsDigit(text[i])) {
      whole = whole * 10 + (text[i] - '0');
      if (whole > kLimit) return std::nullopt;
      ++i;
    }
    size_t whole_digits = i;
    uint64_t fraction = 0;
    uint64_t fraction_scale = 1;
    size_t fraction_digits = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && IsDigit(text[i])) {
        if (fraction_scale < 1'000'000'000'000'000'000ULL) {  // beyond 1e-18: ignored
          fraction = fraction * 10 + static_cast<uint64_t>(text[i] - '0');
          fraction_scale *= 10;
        }
        ++fraction_digits;
        ++i;
      }
    }
    if (whole_digits == 0 && fraction_digits == 0) return std::nullopt;
    size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.') ++i;
    int64_t unit = DurationUnit(text.substr(unit_start, i - unit_start));
    if (unit == 0) return std::nullopt;
    total += whole * unit + static_cast<__int128>(fraction) * unit / fraction_scale;
    if (total > kLimit) return std::nullopt;
    text.remove_prefix(i);
  }
  int64_t result = static_cast<int64_t>(total);
  return negative ? -result : result;
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::optional<uint64_t> number = ParseCount(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && Lower(unit.back()) == 'b') unit.remove_suffix(1);  // "KiB", "kB", "B"
  uint64_t multiplier = 0;
  if (unit.empty()) {
    multiplier = 1;
  } else {
    static constexpr struct {
      const char* decimal;
      const char* binary;
      uint64_t decimal_value;
      uint64_t binary_value;
    } kUnits[] = {{"k", "ki", 1000ULL, 1ULL << 10},
                  {"m", "mi", 1000'000ULL, 1ULL << 20},
                  {"g", "gi", 1000'000'000ULL, 1ULL << 30},
                  {"t", "ti", 1000'000'000'000ULL, 1ULL << 40}};
    for (const auto& u : kUnits) {
      if (EqualsIgnoringCase(unit, u.decimal)) multiplier = u.decimal_value;
      if (EqualsIgnoringCase(unit, u.binary)) multiplier = u.binary_value;
    }
    if (multiplier == 0) return std::nullopt;  // an unknown unit
  }
  if (*number > std::numeric_limits<uint64_t>::max() / multiplier) return std::nullopt;
  return *number * multiplier;
}

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<uint64_t> ParseCount(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string FormatDuration(int64_t nanos) {
  if (nanos == 0) return "0s";
  if (nanos < 0) {
    // Negative durations only come from odd server data; show them rather than hide them.
    // (The sign put in place, not "-" + text: GCC 12 at -O3 fails on that with a false
    // -Wrestrict, GCC bug 105329.)
    std::string text = FormatDuration(nanos == std::numeric_limits<int64_t>::min()
                                          ? std::numeric_limits<int64_t>::max()
                                          : -nanos);
    text.insert(0, 1, '-');
    return text;
  }
  uint64_t n = static_cast<uint64_t>(nanos);
  if (n % kHour == 0) return std::to_string(n / kHour) + "h";
  if (n % kMinute == 0) return std::to_string(n / kMinute) + "m";
  if (n >= kNanosPerSecond) return ExactInUnit(n, kNanosPerSecond, "s");
  if (n >= kMilli) return ExactInUnit(n, kMilli, "ms");
  if (n >= kMicro) return ExactInUnit(n, kMicro, "us");
  return std::to_string(n) + "ns";
}

std::string FormatDurationApprox(int64_t nanos) {
  if (nanos < 0) {
    std::string text = FormatDurationApprox(-nanos);
    text.insert(0, 1, '-');  // see FormatDuration
    return text;
  }
  double n = static_cast<double>(nanos);
  if (nanos < kMicro) return std::to_string(nanos) + "ns";
  if (nanos < kMilli) return Significant(n / 1e3) + "us";
  if (nanos < kNanosPerSecond) return Significant(n / 1e6) + "ms";
  if (nanos < kMinute) return Significant(n / 1e9) + "s";
  int64_t seconds = (nanos + kNanosPerSecond / 2) / kNanosPerSecond;
  if (nanos < kHour) return std::to_string(seconds / 60) + "m" + std::to_string(seconds % 60) + "s";
  return std::to_string(seconds / 3600) + "h" + std::to_string(seconds % 3600 / 60) + "m";
}

std::string FormatUptime(int64_t nanos) {
  int64_t s = nanos / kNanosPerSecond;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
}

std::string FormatSizeExact(uint64_t bytes) {
  static constexpr struct {
    uint64_t value;
    const char* suffix;
  } kUnits[] = {{1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};
  if (bytes != 0) {
    for (const auto& unit : kUnits) {
      if (bytes % unit.value == 0) return std::to_string(bytes / unit.value) + unit.suffix;
    }
  }
  return std::to_string(bytes);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + "B";
  static constexpr const char* kSuffixes[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kSuffixes)) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  std::string out = buffer;
  if (out.size() > 2 && out.compare(out.size() - 2, 2, ".0") == 0) out.resize(out.size() - 2);
  return out + kSuffixes[unit];
}

std::string FormatRate(double per_second) {
  if (per_second < 0) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", per_second);
  return buffer;
}

}  // namespace proxyctl
