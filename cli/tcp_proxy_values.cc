#include "cli/tcp_proxy_values.h"

#include "cli/printer.h"
#include "cli/units.h"
#include "google/protobuf/util/json_util.h"

namespace proxyctl {

absl::Status ParseTcpProxies(const std::string& text, proxynode::v1::NodeConfig& config) {
  const std::string_view trimmed = TrimSpaces(text);
  config.clear_tcp_proxies();
  if (trimmed == "none" || trimmed.empty()) return absl::OkStatus();
  if (trimmed.front() != '[') {
    return absl::InvalidArgumentError(
        "must be a JSON array of TCP proxies like [{\"name\":\"redis\",\"listen\":"
        "\"127.0.0.1:16379\",\"upstream\":\"127.0.0.1:6379\"}], or none");
  }
  std::string json = "{\"tcp_proxies\":";
  json.append(trimmed);
  json += '}';
  proxynode::v1::NodeConfig parsed;
  auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  if (!status.ok()) {
    std::string why(status.message());
    for (char& c : why) {
      if (c == '\n') c = ' ';
    }
    return absl::InvalidArgumentError("not a list of TCP proxies: " + why);
  }
  *config.mutable_tcp_proxies() = parsed.tcp_proxies();
  return absl::OkStatus();
}

std::string FormatTcpProxies(const proxynode::v1::NodeConfig& config) {
  if (config.tcp_proxies().empty()) return "none";
  std::string out = "[";
  for (const proxynode::v1::TcpProxy& proxy : config.tcp_proxies()) {
    if (out.size() > 1) out += ',';
    out += ToJsonPresentFields(proxy);
  }
  out += ']';
  return out;
}

}  // namespace proxyctl
