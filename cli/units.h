#pragma once

// Human units for the command line: durations ("250ms", "1.5s", "1m30s") and byte sizes
// ("16KiB", "1MiB", "1k", "8192"), parsed exactly (integer arithmetic, no floating point)
// and formatted back in the shortest exact form, so what `config get` prints can be pasted
// into `config set`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace proxyctl {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// A duration: one or more <number><unit> terms (Go style), units ns, us (or µs), ms, s, m,
// h; numbers may have a fraction ("1.5s"). A bare "0" is accepted. A leading '-' gives a
// negative result, which callers refuse where it makes no sense. nullopt: not a duration or
// beyond int64 nanoseconds.
std::optional<int64_t> ParseDuration(std::string_view text);

// A byte count: an integer with an optional unit, case-insensitive: k/M/G/T (decimal),
// Ki/Mi/Gi/Ti (binary), each optionally followed by "B"; or a plain "B". nullopt: not a size
// or beyond uint64.
std::optional<uint64_t> ParseSize(std::string_view text);

// `text` without leading and trailing spaces and tabs.
std::string_view TrimSpaces(std::string_view text);

// A plain non-negative decimal integer; nullopt otherwise (signs, units, overflow).
std::optional<uint64_t> ParseCount(std::string_view text);

// The shortest exact form: "0s", "250ms", "1.5s", "90s", "2m", "1h", "100us", "1ns".
std::string FormatDuration(int64_t nanos);

// Rounded for reading, about four significant digits: "1.234ms", "101.2ms", "12.5s",
// "2m3s". For latencies and uptimes.
std::string FormatDurationApprox(int64_t nanos);

// Uptime: "45s", "12m5s", "3h12m", "2d3h".
std::string FormatUptime(int64_t nanos);

// Exact binary size when it divides ("8KiB", "1MiB"), else the plain number.
std::string FormatSizeExact(uint64_t bytes);

// Rounded: "512B", "1.5KiB", "12.3MiB".
std::string FormatBytes(uint64_t bytes);

// A rate with one decimal ("1520.4"), or "-" when unknown (negative).
std::string FormatRate(double per_second);

}  // namespace proxyctl
