#include "dataplane/server/access_line.h"

#include <charconv>
#include <ctime>

namespace proxynode {
namespace {

// Room kept for what always follows a field: the closing brace and the newline.
constexpr size_t kReserve = 2;
// What a text leaves for the fields after it, so that a long target does not crowd out the
// status and the times.
constexpr size_t kRoomAfterText = 512;

}  // namespace

void AccessLine::Clear() {
  size_ = 0;
  first_ = true;
  Raw("{");
}

void AccessLine::Raw(std::string_view text) {
  const size_t room = kCapacity - kReserve - size_;
  const size_t n = text.size() < room ? text.size() : room;
  text.copy(buffer_.data() + size_, n);
  size_ += n;
}

bool AccessLine::Fits(std::string_view key) const {
  // The key, its quotes and separator, and the longest number, time or cut text's start.
  return kCapacity - kReserve - size_ >= key.size() + 48;
}

void AccessLine::Key(std::string_view key) {
  Raw(first_ ? "\"" : ",\"");
  first_ = false;
  Raw(key);
  Raw("\":");
}

void AccessLine::Escaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  Raw("\"");
  const bool cut = text.size() > kMaxText;
  if (cut) text = text.substr(0, kMaxText);
  for (char c : text) {
    // Room for the fields that follow (status, sizes, times, names), or stop here.
    if (kCapacity - kReserve - size_ < kRoomAfterText) {
      Raw("...\"");
      return;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      const char escaped[2] = {'\\', c};
      Raw(std::string_view(escaped, 2));
    } else if (byte < 0x20 || byte >= 0x7f) {
      // Bytes beyond ASCII too: a target is not known to be UTF-8, and the line must be.
      const char escaped[6] = {'\\', 'u', '0', '0', kHex[byte >> 4], kHex[byte & 0xf]};
      Raw(std::string_view(escaped, 6));
    } else {
      Raw(std::string_view(&c, 1));
    }
  }
  Raw(cut ? "...\"" : "\"");
}

void AccessLine::AddText(std::string_view key, std::string_view value) {
  if (!Fits(key)) return;  // a full line drops what does not fit, whole
  Key(key);
  Escaped(value);
}

void AccessLine::AddInteger(std::string_view key, int64_t value) {
  if (!Fits(key)) return;  // a full line drops what does not fit, whole
  Key(key);
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  Raw(std::string_view(digits, static_cast<size_t>(end - digits)));
}

void AccessLine::AddMillis(std::string_view key, int64_t nanos) {
  if (!Fits(key)) return;  // a full line drops what does not fit, whole
  Key(key);
  if (nanos < 0) {
    Raw("-");
    nanos = -nanos;
  }
  const int64_t micros = nanos / 1000;
  char digits[32];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), micros / 1000);
  Raw(std::string_view(digits, static_cast<size_t>(end - digits)));
  const int64_t fraction = micros % 1000;
  const char decimals[4] = {'.', static_cast<char>('0' + fraction / 100),
                            static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
  Raw(std::string_view(decimals, 4));
}

void AccessLine::AddTime(std::string_view key, int64_t unix_nanos) {
  if (!Fits(key)) return;  // a full line drops what does not fit, whole
  Key(key);
  const std::time_t seconds = static_cast<std::time_t>(unix_nanos / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof(text), "\"%Y-%m-%dT%H:%M:%S.", &utc);
  int64_t micros = unix_nanos % 1'000'000'000 / 1000;
  char* at = text + n + 6;
  for (int i = 0; i < 6; ++i) {
    *--at = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  text[n + 6] = 'Z';
  text[n + 7] = '"';
  Raw(std::string_view(text, n + 8));
}

std::string_view AccessLine::Finish() {
  buffer_[size_++] = '}';
  buffer_[size_++] = '\n';
  return std::string_view(buffer_.data(), size_);
}

}  // namespace proxynode
