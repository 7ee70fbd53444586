#pragma once

// The node's log: one JSON object per line on stdout, {"time", "level", "message", fields...},
// so a container runtime or a log shipper takes each record whole. Records below the level set
// with SetLogLevel are dropped. Thread-safe; lines from different threads never interleave.
// Nothing on a worker's request path logs: a record costs a formatted string and a write.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace proxynode {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" (or "warn"), "error"; anything else is refused with the accepted
// names in the message.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// JSON the caller built (an array, an object), written into a record as it is.
struct RawJson {
  std::string text;
};

// One field's value: a JSON string, integer, number or boolean, or RawJson.
class LogValue {
 public:
  LogValue(RawJson json) : value_(std::move(json)) {}             // NOLINT
  LogValue(std::string_view text) : value_(std::string(text)) {}  // NOLINT: implicit by design
  LogValue(const char* text) : value_(std::string(text)) {}       // NOLINT
  LogValue(const std::string& text) : value_(text) {}             // NOLINT
  LogValue(bool flag) : value_(flag) {}                           // NOLINT
  LogValue(double number) : value_(number) {}                     // NOLINT
  template <typename Integer>
  requires std::is_integral_v<Integer> &&
      (!std::is_same_v<Integer, bool>)LogValue(Integer number) {  // NOLINT
    if constexpr (std::is_signed_v<Integer>) {
      value_ = static_cast<int64_t>(number);
    } else {
      value_ = static_cast<uint64_t>(number);
    }
  }

  void AppendJson(std::string& out) const;

 private:
  std::variant<std::string, int64_t, uint64_t, double, bool, RawJson> value_;
};

struct LogField {
  std::string_view key;
  LogValue value;
};

// One record as a JSON object, without the newline. Pure: what Log writes, for tests.
std::string FormatLogRecord(absl::Time time, LogLevel level, std::string_view message,
                            std::initializer_list<LogField> fields);

// Appends `text` as a JSON string literal: quotes, escapes, control characters as \uXXXX, and
// bytes that are not UTF-8 as U+FFFD, so a hostile peer name cannot break the line.
void AppendJsonString(std::string& out, std::string_view text);

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Where records go (a file descriptor; stdout unless a test says otherwise).
void SetLogOutput(int fd);

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarning(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, message, fields);
}
inline void LogError(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, message, fields);
}

}  // namespace proxynode
