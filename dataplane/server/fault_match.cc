#include "dataplane/server/fault_match.h"

#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "dataplane/http/http_syntax.h"

namespace proxynode {
namespace {

using http_syntax::TrimOws;

bool HeaderHolds(const HeaderMatch& header, const HeaderFields& fields) {
  return fields.Any(header.name, [&](std::string_view value) {
    switch (header.kind) {
      case HeaderMatchKind::kPresent:
        return true;
      case HeaderMatchKind::kExact:
        return value == header.value;
      case HeaderMatchKind::kPrefix:
        return value.starts_with(header.value);
    }
    return false;
  });
}

bool RouteProxiesTo(const RouteConfig* route, std::string_view upstream) {
  if (route == nullptr || route->action != RouteAction::kProxy) return false;
  for (const Upstream& candidate : route->upstreams) {
    if (candidate.address == upstream) return true;
  }
  return false;
}

// The number in front of `text` and the unit after it (spaces between allowed).
bool SplitNumber(std::string_view text, double& number, std::string_view& unit) {
  text = TrimOws(text);
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || !(number >= 0)) return false;
  unit = TrimOws(std::string_view(stop, static_cast<size_t>(end - stop)));
  return true;
}

}  // namespace

void HeaderFields::Index() const {
  indexed_ = true;
  // The first line is the request line; each field is "name: value" on its own line.
  size_t line_start = block_.find('\n');
  while (line_start != std::string_view::npos && count_ < kMaxFields) {
    const size_t begin = line_start + 1;
    const size_t line_end = block_.find('\n', begin);
    std::string_view line = block_.substr(
        begin, line_end == std::string_view::npos ? std::string_view::npos : line_end - begin);
    if (line.ends_with('\r')) line.remove_suffix(1);
    line_start = line_end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon > UINT16_MAX) continue;
    const std::string_view value = TrimOws(line.substr(colon + 1));
    fields_[count_++] =
        Field{.name_begin = static_cast<uint32_t>(begin),
              .value_begin = static_cast<uint32_t>(value.data() - block_.data()),
              .name_size = static_cast<uint16_t>(colon),
              .value_size = static_cast<uint16_t>(std::min<size_t>(value.size(), UINT16_MAX))};
  }
}

std::optional<std::string_view> HeaderFields::Find(std::string_view lower_name) const {
  std::optional<std::string_view> found;
  Any(lower_name, [&](std::string_view value) {
    found = value;
    return true;
  });
  return found;
}

std::optional<std::string_view> FindHeader(std::string_view head_block,
                                           std::string_view lower_name) {
  return HeaderFields(head_block).Find(lower_name);
}

bool InClientRange(const ClientRange& range, const SocketAddress& client) {
  const uint8_t* bytes = nullptr;
  if (client.storage.ss_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(&client.storage)->sin_addr);
    if (range.ipv6) return false;
  } else if (client.storage.ss_family == AF_INET6) {
    const auto* address = &reinterpret_cast<const sockaddr_in6*>(&client.storage)->sin6_addr;
    bytes = reinterpret_cast<const uint8_t*>(address);
    if (!range.ipv6) {
      // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
      static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(bytes, kMapped, sizeof(kMapped)) != 0) return false;
      bytes += 12;
    }
  } else {
    return false;
  }
  const uint32_t full_bytes = range.prefix_length / 8;
  if (std::memcmp(bytes, range.address.data(), full_bytes) != 0) return false;
  const uint32_t rest = range.prefix_length % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (bytes[full_bytes] & mask) == (range.address[full_bytes] & mask);
}

bool MatchesFault(const FaultMatch& match, const FaultRequest& request) {
  const RequestHead& head = request.head;
  if (match.methods != 0 &&
      (match.methods & (uint32_t{1} << static_cast<uint32_t>(head.method))) == 0) {
    return false;
  }
  if (!match.route.empty() && (request.route == nullptr || request.route->prefix != match.route)) {
    return false;
  }
  if (!match.path_prefix.empty() && !std::string_view(head.target).starts_with(match.path_prefix)) {
    return false;
  }
  if (!match.path_exact.empty()) {
    std::string_view path = head.target;
    path = path.substr(0, path.find('?'));
    if (path != match.path_exact) return false;
  }
  if (!match.upstream.empty() && !RouteProxiesTo(request.route, match.upstream)) {
    return false;
  }
  for (const HeaderMatch& header : match.headers) {
    if (!HeaderHolds(header, request.fields)) return false;
  }
  if (!match.clients.empty()) {
    bool any = false;
    for (const ClientRange& range : match.clients) {
      if (InClientRange(range, request.Client())) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

std::optional<Nanos> ParseTriggerDelay(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, number, unit)) return std::nullopt;
  double scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = static_cast<double>(kMillisecond);
  } else if (unit == "s") {
    scale = static_cast<double>(kSecond);
  } else if (unit == "us") {
    scale = 1e3;
  } else {
    return std::nullopt;
  }
  const double nanos = number * scale;
  if (nanos > 1e18) return std::nullopt;
  return static_cast<Nanos>(nanos);
}

std::optional<uint64_t> ParseTriggerRate(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!SplitNumber(text, number, unit)) return std::nullopt;
  if (unit.ends_with("/s")) unit.remove_suffix(2);
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr Unit kUnits[] = {{"", 1},       {"B", 1},           {"KB", 1e3},
                                    {"KiB", 1024}, {"MB", 1e6},        {"MiB", 1048576},
                                    {"GB", 1e9},   {"GiB", 1073741824}};
  for (const Unit& candidate : kUnits) {
    if (unit == candidate.name) {
      const double bytes = number * candidate.bytes;
      if (bytes < 1 || bytes > 1e15) return std::nullopt;
      return static_cast<uint64_t>(bytes);
    }
  }
  return std::nullopt;
}

}  // namespace proxynode
