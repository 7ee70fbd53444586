#include "cli/route_values.h"

#include <cctype>
#include <cstdio>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "cli/units.h"
#include "common/struct_fields.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace proxyctl {
namespace {

using proxynode::StructEntries;
using proxynode::v1::NodeConfig;
using proxynode::v1::Route;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Format(const google::protobuf::Duration& duration) {
  return FormatDuration(duration.seconds() * kNanosPerSecond + duration.nanos());
}

constexpr const char* kDurationFields[] = {
    "delay",         "connect_timeout", "connectTimeout", "first_byte_timeout", "firstByteTimeout",
    "total_timeout", "totalTimeout"};

bool IsDurationField(const std::string& name) {
  for (const char* field : kDurationFields) {
    if (name == field) return true;
  }
  return false;
}

// "0.2s": protobuf JSON's form of a duration.
std::string ProtoJsonDuration(int64_t nanos) {
  char text[48];
  std::snprintf(text, sizeof(text), "%lld.%09llds", static_cast<long long>(nanos / kNanosPerSecond),
                static_cast<long long>(nanos % kNanosPerSecond));
  return text;
}

// Durations as proxyctl prints them and lower-case enums, in protobuf JSON's own forms.
void NormalizeRouteJson(google::protobuf::ListValue& routes) {
  for (google::protobuf::Value& route : *routes.mutable_values()) {
    if (!route.has_struct_value()) continue;  // the Route parser says what is wrong with it
    for (auto& [name, entry] : StructEntries(*route.mutable_struct_value())) {
      google::protobuf::Value& value = *entry;
      if (!value.has_string_value()) continue;
      if (IsDurationField(name)) {
        std::optional<int64_t> nanos = ParseDuration(value.string_value());
        if (nanos && *nanos >= 0) value.set_string_value(ProtoJsonDuration(*nanos));
      } else if (name == "action" || name == "balancing" || name == "upstream_protocol" ||
                 name == "upstreamProtocol") {
        std::string upper = value.string_value();
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        value.set_string_value(upper);
      }
    }
  }
}

// "balancing=round_robin" and friends onto `route`; refused, naming `word`, when it is none.
absl::Status SetRouteSetting(const std::string& word, Route& route) {
  const size_t equals = word.find('=');
  const std::string name = word.substr(0, equals);
  const std::string value = equals == std::string::npos ? "" : word.substr(equals + 1);
  const auto bad = [&word](const std::string& why) {
    return absl::InvalidArgumentError("\"" + word + "\": " + why);
  };
  if (equals == std::string::npos) return bad("expected name=value");
  if (name == "balancing") {
    std::string upper = value;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Route::Balancing balancing;
    if (!Route::Balancing_Parse(upper, &balancing)) {
      return bad("balancing is round_robin or least_outstanding");
    }
    route.set_balancing(balancing);
    return absl::OkStatus();
  }
  if (name == "upstream_protocol") {
    std::string upper = value;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Route::UpstreamProtocol protocol;
    if (!Route::UpstreamProtocol_Parse(upper, &protocol) ||
        protocol == Route::UPSTREAM_PROTOCOL_UNSPECIFIED) {
      return bad("upstream_protocol is http1, h2c or h2");
    }
    route.set_upstream_protocol(protocol);
    return absl::OkStatus();
  }
  // TLS to the upstreams: tls=on (the defaults), or any of its files and name.
  if (name == "tls") {
    if (value != "on") return bad("tls is on (or give tls_ca, tls_cert, tls_key, tls_server_name)");
    route.mutable_upstream_tls();
    return absl::OkStatus();
  }
  std::string* tls_field = name == "tls_ca"     ? route.mutable_upstream_tls()->mutable_ca_file()
                           : name == "tls_cert" ? route.mutable_upstream_tls()->mutable_cert_file()
                           : name == "tls_key"  ? route.mutable_upstream_tls()->mutable_key_file()
                           : name == "tls_server_name"
                               ? route.mutable_upstream_tls()->mutable_server_name()
                               : nullptr;
  if (tls_field != nullptr) {
    if (value.empty()) return bad(name + " needs a value");
    *tls_field = value;
    return absl::OkStatus();
  }
  if (name == "delay_percent") {
    std::optional<uint64_t> percent = ParseCount(value);
    if (!percent || *percent > 100) return bad("delay_percent is 0-100");
    route.set_delay_percent(static_cast<uint32_t>(*percent));
    return absl::OkStatus();
  }
  google::protobuf::Duration* duration =
      name == "delay"                ? route.mutable_delay()
      : name == "connect_timeout"    ? route.mutable_connect_timeout()
      : name == "first_byte_timeout" ? route.mutable_first_byte_timeout()
      : name == "total_timeout"      ? route.mutable_total_timeout()
                                     : nullptr;
  if (duration == nullptr) {
    return bad(
        "unknown setting; settings: balancing, upstream_protocol, tls, tls_ca, tls_cert, "
        "tls_key, tls_server_name, delay, delay_percent, connect_timeout, first_byte_timeout, "
        "total_timeout");
  }
  std::optional<int64_t> nanos = ParseDuration(value);
  if (!nanos || *nanos < 0) return bad("not a duration (e.g. 200ms)");
  duration->set_seconds(*nanos / kNanosPerSecond);
  duration->set_nanos(static_cast<int32_t>(*nanos % kNanosPerSecond));
  return absl::OkStatus();
}

// One route as FormatRoute writes it: PREFIX ACTION [UPSTREAMS] [name=value ...].
absl::Status ParseRouteLine(const std::string& line, Route& route) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  if (words.size() < 2) {
    return absl::InvalidArgumentError("\"" + line + "\": expected PREFIX ACTION [UPSTREAMS] ...");
  }
  route.set_prefix(words[0]);
  const std::string action = Lower(words[1]);
  size_t next = 2;
  if (action == "respond") {
    route.set_action(Route::RESPOND);
  } else if (action == "proxy") {
    route.set_action(Route::PROXY);
    if (words.size() < 3 || words[2].find('=') != std::string::npos) {
      return absl::InvalidArgumentError("\"" + line + "\": a proxy route needs its upstreams");
    }
    std::istringstream pool(words[2]);
    for (std::string upstream; std::getline(pool, upstream, ',');) route.add_upstreams(upstream);
    next = 3;
  } else {
    return absl::InvalidArgumentError("\"" + words[1] + "\": the action is respond or proxy");
  }
  for (size_t i = next; i < words.size(); ++i) {
    if (absl::Status status = SetRouteSetting(words[i], route); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseRoutes(const std::string& text, NodeConfig& config) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] == '[' || text[first] == '{') {
    if (absl::Status status = ParseRoutesJson(text, config); !status.ok()) {
      return absl::InvalidArgumentError("must be a JSON array of Route objects; " +
                                        std::string(status.message()));
    }
    return absl::OkStatus();
  }
  if (text.compare(first, 4, "none") == 0) {
    if (text.find_first_not_of(" \t\r\n", first + 4) != std::string::npos) {
      return absl::InvalidArgumentError("\"none\" stands alone");
    }
    config.clear_routes();
    return absl::OkStatus();
  }
  NodeConfig parsed;
  std::string line;
  for (char c : text + "\n") {
    if (c != '\n' && c != ';') {
      line += c;
      continue;
    }
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      if (absl::Status status = ParseRouteLine(line, *parsed.add_routes()); !status.ok()) {
        return status;
      }
    }
    line.clear();
  }
  *config.mutable_routes() = parsed.routes();
  return absl::OkStatus();
}

absl::Status ParseRoutesJson(const std::string& json, NodeConfig& config) {
  size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || json[first] != '[') {
    return absl::InvalidArgumentError("not a JSON array");
  }
  // NodeConfig is the wrapper that gives the array a field to parse into; anything but
  // `routes` in the result means the text was more than one array.
  google::protobuf::ListValue generic;
  std::string normalized = json;
  if (google::protobuf::util::JsonStringToMessage(json, &generic).ok()) {
    NormalizeRouteJson(generic);
    normalized.clear();
    (void)google::protobuf::util::MessageToJsonString(generic, &normalized);
  }
  NodeConfig parsed;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage("{\"routes\": " + normalized + "}",
                                                            &parsed, options);
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
    if (route.upstream_protocol() == Route::H2C ||
        route.upstream_protocol() == Route::H2) {  // HTTP/1.1, the default, goes unsaid
      line +=
          " upstream_protocol=" + Lower(Route::UpstreamProtocol_Name(route.upstream_protocol()));
    }
    if (route.has_upstream_tls()) {
      const Route::UpstreamTls& tls = route.upstream_tls();
      std::string settings;
      for (auto [setting, text] :
           {std::pair{"tls_server_name", &tls.server_name()}, std::pair{"tls_ca", &tls.ca_file()},
            std::pair{"tls_cert", &tls.cert_file()}, std::pair{"tls_key", &tls.key_file()}}) {
        if (!text->empty()) settings += std::string(" ") + setting + "=" + *text;
      }
      line += settings.empty() ? " tls=on" : settings;
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
