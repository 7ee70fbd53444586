#pragma once

// One access-log line as JSON, built in a fixed buffer: no allocation, whatever the request.
// Text is JSON-escaped and, when the line would run past the buffer, cut short and marked
// ("...") so that the line stays valid JSON.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proxynode {

class AccessLine {
 public:
  static constexpr size_t kCapacity = 2048;
  // The longest text field: a request target past this is cut (most logs cut at 1-4 KiB).
  static constexpr size_t kMaxText = 1024;

  AccessLine() { Clear(); }

  void Clear();
  void AddText(std::string_view key, std::string_view value);
  void AddInteger(std::string_view key, int64_t value);
  // Milliseconds with microsecond resolution: "duration_ms":100.412.
  void AddMillis(std::string_view key, int64_t nanos);
  // "2026-12-07T12:00:00.123456Z".
  void AddTime(std::string_view key, int64_t unix_nanos);
  // Closes the object and ends the line with '\n'.
  std::string_view Finish();

 private:
  bool Fits(std::string_view key) const;
  void Key(std::string_view key);
  void Raw(std::string_view text);
  void Escaped(std::string_view text);

  std::array<char, kCapacity> buffer_;
  size_t size_ = 0;
  bool first_ = true;
};

}  // namespace proxynode
