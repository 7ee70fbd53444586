#include "cli/route_values.h"

#include <cctype>
#include <tuple>

#include "cli/units.h"
#include "google/protobuf/util/json_util.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using proxynode::v1::Route;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Format(const google::protobuf::Duration& duration) {
  return FormatDuration(duration.seconds() * kNanosPerSecond + duration.nanos());
}

}  // namespace

absl::Status ParseRoutesJson(const std::string& json, NodeConfig& config) {
  size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || json[first] != '[') {
    return absl::InvalidArgumentError("not a JSON array");
  }
  // NodeConfig is the wrapper that gives the array a field to parse into; anything but
  // `routes` in the result means the text was more than one array.
  NodeConfig parsed;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status =
      google::protobuf::util::JsonStringToMessage("{\"routes\": " + json + "}", &parsed, options);
  if (!status.ok()) {
    std::string message(status.message());
    return absl::InvalidArgumentError(message.substr(0, message.find('\n')));
  }
  NodeConfig only_routes;
  *only_routes.mutable_routes() = parsed.routes();
  if (only_routes.ByteSizeLong() != parsed.ByteSizeLong()) {
    return absl::InvalidArgumentError("text after the array");
  }
  *config.mutable_routes() = parsed.routes();
  return absl::OkStatus();
}

bool ParseUpstreamPool(const std::string& pool, NodeConfig& config) {
  config.clear_routes();
  if (pool.empty()) {
    return true;
  }
  Route* route = config.add_routes();
  route->set_prefix("/");
  route->set_action(Route::PROXY);
  route->set_balancing(Route::ROUND_ROBIN);
  size_t start = 0;
  while (true) {
    size_t comma = pool.find(',', start);
    std::string address = pool.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
      return false;
    }
    route->add_upstreams(address);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

std::string FormatRoute(const Route& route) {
  std::string action = route.action() == Route::ACTION_UNSPECIFIED
                           ? "unspecified"
                           : Lower(Route::Action_Name(route.action()));
  std::string line = route.prefix() + " " + action;
  const bool proxy = route.action() == Route::PROXY;
  if (proxy) {
    std::string pool;
    for (const std::string& upstream : route.upstreams()) {
      pool += (pool.empty() ? "" : ",") + upstream;
    }
    line += " " + pool;
    if (route.balancing() != Route::BALANCING_UNSPECIFIED) {
      line += " balancing=" + Lower(Route::Balancing_Name(route.balancing()));
    }
  }
  if (route.has_delay()) line += " delay=" + Format(route.delay());
  if (route.has_delay_percent() && route.delay_percent() != 100) {
    line += " delay_percent=" + std::to_string(route.delay_percent());
  }
  if (proxy) {
    for (auto [name, set, value] :
         {std::tuple{"connect_timeout", route.has_connect_timeout(), &route.connect_timeout()},
          std::tuple{"first_byte_timeout", route.has_first_byte_timeout(),
                     &route.first_byte_timeout()},
          std::tuple{"total_timeout", route.has_total_timeout(), &route.total_timeout()}}) {
      if (set) line += std::string(" ") + name + "=" + Format(*value);
    }
  }
  return line;
}

}  // namespace proxyctl
