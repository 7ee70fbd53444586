#include "dataplane/http2/h2c_upgrade.h"

#include <array>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "dataplane/http/http_syntax.h"

namespace proxynode {
namespace {

constexpr std::array<std::string_view, 7> kConnectionSpecific = {
    "connection",        "upgrade", "http2-settings",  "keep-alive",
    "transfer-encoding", "te",      "proxy-connection"};

// The next line of `rest` without its CRLF (or LF), taken off `rest`.
std::string_view NextLine(std::string_view& rest) {
  const size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  if (line.ends_with('\r')) {
    line.remove_suffix(1);
  }
  return line;
}

// Whether the comma-separated `list` holds `token` (case-insensitive).
bool HasToken(std::string_view list, std::string_view token) {
  bool found = false;
  http_syntax::ForEachListElement(list, [&](std::string_view element) {
    found = found || http_syntax::EqualsIgnoreCase(element, token);
  });
  return found;
}

// A SETTINGS frame's payload is 6 bytes a setting (RFC 9113 6.5.1).
constexpr size_t kSettingSize = 6;

}  // namespace

PrefaceMatch MatchClientPreface(std::string_view input) {
  if (input.size() >= kHttp2ClientPreface.size()) {
    return input.starts_with(kHttp2ClientPreface) ? PrefaceMatch::kYes : PrefaceMatch::kNo;
  }
  return kHttp2ClientPreface.starts_with(input) ? PrefaceMatch::kPartial : PrefaceMatch::kNo;
}

bool AcceptH2cUpgrade(const RequestHead& head, std::string_view head_block, Http2Upgrade* upgrade) {
  if (head.chunked || head.content_length != 0 || head.target_form != TargetForm::kOrigin) {
    return false;
  }
  bool wants_h2c = false;
  bool connection_upgrade = false;
  int settings_fields = 0;
  std::string_view settings;
  std::string_view rest = head_block;
  NextLine(rest);  // the request line
  while (!rest.empty()) {
    std::string_view name;
    std::string_view value;
    if (!http_syntax::SplitField(NextLine(rest), &name, &value)) {
      continue;
    }
    if (http_syntax::EqualsIgnoreCase(name, "upgrade")) {
      wants_h2c = wants_h2c || HasToken(value, "h2c");
    } else if (http_syntax::EqualsIgnoreCase(name, "connection")) {
      connection_upgrade = connection_upgrade || HasToken(value, "upgrade");
    } else if (http_syntax::EqualsIgnoreCase(name, "http2-settings")) {
      ++settings_fields;
      settings = value;
    }
  }
  if (!wants_h2c || !connection_upgrade || settings_fields != 1) {
    return false;
  }
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(absl::string_view(settings.data(), settings.size()), &decoded) ||
      decoded.size() % kSettingSize != 0) {
    return false;
  }
  upgrade->head_block.assign(head_block);
  upgrade->settings = std::move(decoded);
  upgrade->head_request = head.method == HttpMethod::kHead;
  return true;
}

void AddHttp1HeadFields(std::string_view head_block, Http2RequestBuilder& builder) {
  std::string_view rest = head_block;
  std::string_view request_line = NextLine(rest);
  while (request_line.empty() && !rest.empty()) {
    request_line = NextLine(rest);  // empty lines the parser tolerated before the request
  }
  const size_t method_end = request_line.find(' ');
  const size_t target_end = request_line.rfind(' ');
  if (method_end == std::string_view::npos || target_end <= method_end) {
    return;
  }
  builder.Add(":method", request_line.substr(0, method_end));
  builder.Add(":scheme", "http");
  builder.Add(":path", request_line.substr(method_end + 1, target_end - method_end - 1));
  std::string name;
  while (!rest.empty()) {
    std::string_view raw_name;
    std::string_view value;
    if (!http_syntax::SplitField(NextLine(rest), &raw_name, &value)) {
      continue;
    }
    name.assign(raw_name);
    absl::AsciiStrToLower(&name);
    bool skipped = false;
    for (std::string_view specific : kConnectionSpecific) {
      skipped = skipped || name == specific;
    }
    if (skipped) {
      continue;
    }
    builder.Add(name == "host" ? std::string_view(":authority") : std::string_view(name), value);
  }
}

}  // namespace proxynode
