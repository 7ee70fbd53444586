#include "controlplane/json_log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace proxynode {
namespace {

std::atomic<LogLevel> min_level{LogLevel::kInfo};
std::atomic<int> output_fd{STDOUT_FILENO};
std::mutex write_mutex;

// Length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not valid).
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) {
    return continuation(1) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a failing log
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  const std::string lower = absl::AsciiStrToLower(std::string(text));
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log level \"", std::string(text), "\": use debug, info, warning or error"));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          static constexpr char kHex[] = "0123456789abcdef";
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void LogValue::AppendJson(std::string& out) const {
  if (const auto* text = std::get_if<std::string>(&value_)) {
    AppendJsonString(out, *text);
  } else if (const auto* json = std::get_if<RawJson>(&value_)) {
    out += json->text;
  } else if (const auto* flag = std::get_if<bool>(&value_)) {
    out.append(*flag ? "true" : "false");
  } else if (const auto* number = std::get_if<double>(&value_)) {
    if (!std::isfinite(*number)) {
      out.append("null");  // JSON has no NaN or infinity
      return;
    }
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), *number);
    out.append(buffer, end);
  } else if (const auto* signed_number = std::get_if<int64_t>(&value_)) {
    absl::StrAppend(&out, *signed_number);
  } else {
    absl::StrAppend(&out, std::get<uint64_t>(value_));
  }
}

std::string FormatLogRecord(absl::Time time, LogLevel level, std::string_view message,
                            std::initializer_list<LogField> fields) {
  std::string out = "{\"time\":\"";
  out.append(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", time, absl::UTCTimeZone()));
  out.append("\",\"level\":\"");
  out.append(LogLevelName(level));
  out.append("\",\"message\":");
  AppendJsonString(out, message);
  for (const LogField& field : fields) {
    out.push_back(',');
    AppendJsonString(out, field.key);
    out.push_back(':');
    field.value.AppendJson(out);
  }
  out.push_back('}');
  return out;
}

void SetLogLevel(LogLevel level) { min_level.store(level, std::memory_order_relaxed); }

bool LogEnabled(LogLevel level) { return level >= min_level.load(std::memory_order_relaxed); }

void SetLogOutput(int fd) { output_fd.store(fd, std::memory_order_relaxed); }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) {
    return;
  }
  std::string line = FormatLogRecord(absl::Now(), level, message, fields);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(write_mutex);
  WriteAll(output_fd.load(std::memory_order_relaxed), line);
}

}  // namespace proxynode
