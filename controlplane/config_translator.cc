#include "controlplane/config_translator.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/fault_translator.h"
#include "controlplane/proto_duration.h"
#include "controlplane/tcp_proxy_translator.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace proxynode {
namespace {

absl::StatusOr<RouteAction> ToAction(const std::string& field, v1::Route::Action action) {
  switch (action) {
    case v1::Route::RESPOND:
      return RouteAction::kRespond;
    case v1::Route::PROXY:
      return RouteAction::kProxy;
    default:  // ACTION_UNSPECIFIED: a route must say what it does
      return absl::InvalidArgumentError(absl::StrCat(field, ": must be RESPOND or PROXY"));
  }
}

absl::StatusOr<LoadBalancing> ToBalancing(const std::string& field,
                                          v1::Route::Balancing balancing) {
  switch (balancing) {
    case v1::Route::BALANCING_UNSPECIFIED:
    case v1::Route::ROUND_ROBIN:
      return LoadBalancing::kRoundRobin;
    case v1::Route::LEAST_OUTSTANDING:
      return LoadBalancing::kLeastOutstanding;
    default:
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", static_cast<int>(balancing),
                                                     " is not ROUND_ROBIN or LEAST_OUTSTANDING"));
  }
}

// Unset fields keep RouteConfig's defaults; unset delay means "the node's delay".
absl::StatusOr<RouteConfig> FromProto(const std::string& field, const v1::Route& proto) {
  RouteConfig route;
  route.prefix = proto.prefix();
  absl::StatusOr<RouteAction> action = ToAction(field + ".action", proto.action());
  if (!action.ok()) {
    return action.status();
  }
  route.action = *action;
  for (const std::string& address : proto.upstreams()) {
    route.upstreams.push_back(Upstream{address, {}});
  }
  absl::StatusOr<LoadBalancing> balancing = ToBalancing(field + ".balancing", proto.balancing());
  if (!balancing.ok()) {
    return balancing.status();
  }
  route.balancing = *balancing;
  switch (proto.upstream_protocol()) {
    case v1::Route::UPSTREAM_PROTOCOL_UNSPECIFIED:
    case v1::Route::HTTP1:
      route.upstream_protocol = UpstreamProtocol::kHttp1;
      break;
    case v1::Route::H2C:
      route.upstream_protocol = UpstreamProtocol::kH2c;
      break;
    case v1::Route::H2:
      route.upstream_protocol = UpstreamProtocol::kH2;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".upstream_protocol: ", static_cast<int>(proto.upstream_protocol()),
                       " is not HTTP1, H2C or H2"));
  }
  if (proto.has_upstream_tls()) {
    const v1::Route::UpstreamTls& tls = proto.upstream_tls();
    route.upstream_tls = UpstreamTlsConfig{.server_name = tls.server_name(),
                                           .ca_file = tls.ca_file(),
                                           .cert_file = tls.cert_file(),
                                           .key_file = tls.key_file()};
  }
  if (proto.has_delay()) {
    absl::StatusOr<Nanos> delay = ToNanos(field + ".delay", proto.delay());
    if (!delay.ok()) {
      return delay.status();
    }
    route.delay = *delay;
  }
  if (proto.has_delay_percent()) {
    route.delay_percent = proto.delay_percent();
  }
  absl::Status status;
  status.Update(CopyDurationIfSet(field + ".connect_timeout", proto.has_connect_timeout(),
                                  proto.connect_timeout(), route.connect_timeout));
  status.Update(CopyDurationIfSet(field + ".first_byte_timeout", proto.has_first_byte_timeout(),
                                  proto.first_byte_timeout(), route.first_byte_timeout));
  status.Update(CopyDurationIfSet(field + ".total_timeout", proto.has_total_timeout(),
                                  proto.total_timeout(), route.total_timeout));
  if (!status.ok()) {
    return status;
  }
  return route;
}

v1::Route ToProto(const RouteConfig& route) {
  v1::Route proto;
  proto.set_prefix(route.prefix);
  proto.set_action(route.action == RouteAction::kProxy ? v1::Route::PROXY : v1::Route::RESPOND);
  for (const Upstream& upstream : route.upstreams) {
    proto.add_upstreams(upstream.address);
  }
  proto.set_balancing(route.balancing == LoadBalancing::kLeastOutstanding
                          ? v1::Route::LEAST_OUTSTANDING
                          : v1::Route::ROUND_ROBIN);
  switch (route.upstream_protocol) {
    case UpstreamProtocol::kHttp1:
      proto.set_upstream_protocol(v1::Route::HTTP1);
      break;
    case UpstreamProtocol::kH2c:
      proto.set_upstream_protocol(v1::Route::H2C);
      break;
    case UpstreamProtocol::kH2:
      proto.set_upstream_protocol(v1::Route::H2);
      break;
  }
  if (route.upstream_tls) {
    v1::Route::UpstreamTls& tls = *proto.mutable_upstream_tls();
    tls.set_server_name(route.upstream_tls->server_name);
    tls.set_ca_file(route.upstream_tls->ca_file);
    tls.set_cert_file(route.upstream_tls->cert_file);
    tls.set_key_file(route.upstream_tls->key_file);
  }
  if (route.delay) {
    *proto.mutable_delay() = ToProtoDuration(*route.delay);
  }
  proto.set_delay_percent(route.delay_percent);
  *proto.mutable_connect_timeout() = ToProtoDuration(route.connect_timeout);
  *proto.mutable_first_byte_timeout() = ToProtoDuration(route.first_byte_timeout);
  *proto.mutable_total_timeout() = ToProtoDuration(route.total_timeout);
  return proto;
}

// The whole list: an update never merges routes one by one.
absl::Status CopyRoutes(const v1::NodeConfig& update, NodeConfig& config) {
  std::vector<RouteConfig> routes;
  routes.reserve(static_cast<size_t>(update.routes_size()));
  for (int i = 0; i < update.routes_size(); ++i) {
    absl::StatusOr<RouteConfig> route =
        FromProto(absl::StrCat("routes[", i, "]"), update.routes(i));
    if (!route.ok()) {
      return route.status();
    }
    routes.push_back(*std::move(route));
  }
  config.routes = std::move(routes);
  return absl::OkStatus();
}

// The whole list, like routes. An `expires_after` counts from now.
absl::Status CopyFaults(const v1::NodeConfig& update, NodeConfig& config) {
  std::vector<FaultRule> faults;
  faults.reserve(static_cast<size_t>(update.faults_size()));
  const absl::Time now = absl::Now();
  for (int i = 0; i < update.faults_size(); ++i) {
    absl::StatusOr<FaultRule> rule =
        FaultRuleFromProto(absl::StrCat("faults[", i, "]"), update.faults(i), now);
    if (!rule.ok()) {
      return rule.status();
    }
    faults.push_back(*std::move(rule));
  }
  config.faults = std::move(faults);
  return absl::OkStatus();
}

// The whole list, like routes: a proxy's toxics are part of it.
absl::Status CopyTcpProxies(const v1::NodeConfig& update, NodeConfig& config) {
  std::vector<TcpProxyConfig> proxies;
  proxies.reserve(static_cast<size_t>(update.tcp_proxies_size()));
  for (int i = 0; i < update.tcp_proxies_size(); ++i) {
    const v1::TcpProxy& proto = update.tcp_proxies(i);
    absl::StatusOr<TcpProxyConfig> proxy =
        TcpProxyFromProto(proto.name().empty() ? absl::StrCat("tcp_proxies[", i, "]")
                                               : absl::StrCat("tcp_proxies[", proto.name(), "]"),
                          proto);
    if (!proxy.ok()) {
      return proxy.status();
    }
    proxies.push_back(*std::move(proxy));
  }
  config.tcp_proxies = std::move(proxies);
  return absl::OkStatus();
}

// One entry per settable field: its mask path, whether `update` has it, and how to copy it.
struct FieldRule {
  const char* path;
  bool (*present)(const v1::NodeConfig&);
  absl::Status (*copy)(const v1::NodeConfig&, NodeConfig&);
};

#define PROXYNODE_SCALAR_FIELD(name)                                         \
  FieldRule {                                                                \
#name, [](const v1::NodeConfig& u) { return u.has_##name(); },             \
        [](const v1::NodeConfig& u, NodeConfig& c) {                           \
          c.name = u.name();                                                   \
          return absl::OkStatus();                                             \
        } \
  }
#define PROXYNODE_DURATION_FIELD(name)                                       \
  FieldRule {                                                                \
#name, [](const v1::NodeConfig& u) { return u.has_##name(); },             \
        [](const v1::NodeConfig& u, NodeConfig& c) {                           \
          absl::StatusOr<Nanos> nanos = ToNanos(#name, u.name());              \
          if (!nanos.ok()) {                                                   \
            return nanos.status();                                             \
          }                                                                    \
          c.name = *nanos;                                                     \
          return absl::OkStatus();                                             \
        } \
  }

const FieldRule kFieldRules[] = {
    PROXYNODE_DURATION_FIELD(delay),
    PROXYNODE_SCALAR_FIELD(body),
    PROXYNODE_SCALAR_FIELD(workers),
    PROXYNODE_SCALAR_FIELD(max_connections),
    PROXYNODE_SCALAR_FIELD(max_pending),
    PROXYNODE_SCALAR_FIELD(rate_limit),
    PROXYNODE_DURATION_FIELD(header_timeout),
    PROXYNODE_DURATION_FIELD(idle_timeout),
    PROXYNODE_SCALAR_FIELD(max_header_bytes),
    PROXYNODE_SCALAR_FIELD(max_body_bytes),
    PROXYNODE_SCALAR_FIELD(max_requests_per_connection),
    // A repeated field has no presence: a config file "has" routes when it lists one.
    FieldRule{"routes", [](const v1::NodeConfig& u) { return u.routes_size() > 0; }, CopyRoutes},
    FieldRule{"faults", [](const v1::NodeConfig& u) { return u.faults_size() > 0; }, CopyFaults},
    PROXYNODE_SCALAR_FIELD(max_active_faults),
    PROXYNODE_SCALAR_FIELD(fault_seed),
    FieldRule{"tcp_proxies", [](const v1::NodeConfig& u) { return u.tcp_proxies_size() > 0; },
              CopyTcpProxies},
};

#undef PROXYNODE_SCALAR_FIELD
#undef PROXYNODE_DURATION_FIELD

const FieldRule* FindRule(const std::string& path) {
  for (const FieldRule& rule : kFieldRules) {
    if (path == rule.path) {
      return &rule;
    }
  }
  return nullptr;
}

std::string KnownPaths() {
  std::string paths;
  for (const FieldRule& rule : kFieldRules) {
    absl::StrAppend(&paths, paths.empty() ? "" : ", ", rule.path);
  }
  return paths;
}

absl::StatusOr<NodeConfig> Validated(NodeConfig config) {
  if (absl::Status status = ValidateConfig(config); !status.ok()) {
    return status;
  }
  return config;
}

}  // namespace

v1::NodeConfig ToProto(const NodeConfig& config) {
  v1::NodeConfig proto;
  proto.set_version(config.version);
  *proto.mutable_delay() = ToProtoDuration(config.delay);
  proto.set_body(config.body);
  proto.set_workers(config.workers);
  proto.set_max_connections(config.max_connections);
  proto.set_max_pending(config.max_pending);
  proto.set_rate_limit(config.rate_limit);
  *proto.mutable_header_timeout() = ToProtoDuration(config.header_timeout);
  *proto.mutable_idle_timeout() = ToProtoDuration(config.idle_timeout);
  proto.set_max_header_bytes(config.max_header_bytes);
  proto.set_max_body_bytes(config.max_body_bytes);
  proto.set_max_requests_per_connection(config.max_requests_per_connection);
  for (const RouteConfig& route : config.routes) {
    *proto.add_routes() = ToProto(route);
  }
  for (const FaultRule& rule : config.faults) {
    *proto.add_faults() = ToProto(rule);
  }
  proto.set_max_active_faults(config.max_active_faults);
  proto.set_fault_seed(config.fault_seed);
  for (const TcpProxyConfig& proxy : config.tcp_proxies) {
    *proto.add_tcp_proxies() = ToProto(proxy);
  }
  return proto;
}

absl::StatusOr<NodeConfig> MergePresentFields(const NodeConfig& base,
                                              const v1::NodeConfig& update) {
  NodeConfig config = base;
  for (const FieldRule& rule : kFieldRules) {
    if (rule.present(update)) {
      if (absl::Status status = rule.copy(update, config); !status.ok()) {
        return status;
      }
    }
  }
  return Validated(std::move(config));
}

absl::StatusOr<NodeConfig> ApplyFieldMask(const NodeConfig& base, const v1::NodeConfig& update,
                                          const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update_mask: empty; name the fields to change (", KnownPaths(), ")"));
  }
  NodeConfig config = base;
  for (const std::string& path : mask.paths()) {
    if (path == "version") {
      return absl::InvalidArgumentError(
          "update_mask: version is output only; use expected_version to guard an update");
    }
    const FieldRule* rule = FindRule(path);
    if (rule == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: unknown field '", path, "'; known fields: ", KnownPaths()));
    }
    if (absl::Status status = rule->copy(update, config); !status.ok()) {
      return status;
    }
  }
  return Validated(std::move(config));
}

absl::StatusOr<v1::NodeConfig> ParseConfigText(const std::string& text) {
  v1::NodeConfig proto;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(text, &proto, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config (JSON): ", std::string(status.message())));
    }
    return proto;
  }
  // Collects the parser's messages instead of letting it log to stderr.
  class Collector : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, int column, const std::string& message) override {
      absl::StrAppend(&errors, errors.empty() ? "" : "; ", "line ", line + 1, " column ",
                      column + 1, ": ", message);
    }
    std::string errors;
  } collector;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text, &proto)) {
    return absl::InvalidArgumentError(absl::StrCat("config (text format): ", collector.errors));
  }
  return proto;
}

}  // namespace proxynode
