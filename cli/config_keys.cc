#include "cli/config_keys.h"

#include <cctype>
#include <cstdio>
#include <limits>
#include <map>

#include "cli/route_values.h"
#include "cli/suggest.h"
#include "cli/tcp_proxy_values.h"
#include "cli/units.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace proxyctl {
namespace {

using google::protobuf::FieldDescriptor;
using proxynode::v1::NodeConfig;

const FieldDescriptor* Field(const ConfigKey& key) {
  return NodeConfig::descriptor()->FindFieldByName(FieldName(key));
}

absl::Status BadValue(const std::string& assignment, const ConfigKey& key) {
  return absl::InvalidArgumentError(assignment + ": must be " + key.allowed);
}

// Sets `field` of `config` from `value`, by the key's kind; false if the value does not
// parse or does not fit the field's type.
bool SetField(const ConfigKey& key, const std::string& value, NodeConfig& config) {
  const FieldDescriptor* field = Field(key);
  const google::protobuf::Reflection* reflection = config.GetReflection();
  switch (key.kind) {
    case ConfigKey::Kind::kString: {
      // What `config get` prints ("\"Hello\\n\"") reads back as the text it stands for.
      std::optional<std::string> text = Unquote(value);
      if (!text) return false;
      reflection->SetString(&config, field, *text);
      return true;
    }
    case ConfigKey::Kind::kDuration: {
      std::optional<int64_t> nanos = ParseDuration(value);
      if (!nanos || *nanos < 0) return false;
      auto* duration =
          static_cast<google::protobuf::Duration*>(reflection->MutableMessage(&config, field));
      duration->set_seconds(*nanos / kNanosPerSecond);
      duration->set_nanos(static_cast<int32_t>(*nanos % kNanosPerSecond));
      return true;
    }
    case ConfigKey::Kind::kCount:
    case ConfigKey::Kind::kSize: {
      std::optional<uint64_t> number =
          key.kind == ConfigKey::Kind::kCount ? ParseCount(value) : ParseSize(value);
      if (!number) return false;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
        reflection->SetUInt64(&config, field, *number);
        return true;
      }
      if (*number > std::numeric_limits<uint32_t>::max()) return false;
      reflection->SetUInt32(&config, field, static_cast<uint32_t>(*number));
      return true;
    }
    case ConfigKey::Kind::kUpstreamPool:
      return ParseUpstreamPool(value, config);
    case ConfigKey::Kind::kRoutes:
      return ParseRoutes(value, config).ok();
    case ConfigKey::Kind::kTcpProxies:
      return ParseTcpProxies(value, config).ok();
  }
  return false;
}

// Sets the key's field from `value`; on error, the one-line message for `assignment`.
absl::Status SetValue(const ConfigKey& key, const std::string& assignment, const std::string& value,
                      NodeConfig& config) {
  if (key.kind == ConfigKey::Kind::kRoutes) {
    // The parser's reason says where the value goes wrong, which "must be" alone would not.
    if (absl::Status status = ParseRoutes(value, config); !status.ok()) {
      return absl::InvalidArgumentError(assignment + ": " + std::string(status.message()));
    }
    return absl::OkStatus();
  }
  if (key.kind == ConfigKey::Kind::kTcpProxies) {
    if (absl::Status status = ParseTcpProxies(value, config); !status.ok()) {
      return absl::InvalidArgumentError(assignment + ": " + std::string(status.message()));
    }
    return absl::OkStatus();
  }
  return SetField(key, value, config) ? absl::OkStatus() : BadValue(assignment, key);
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  using Kind = ConfigKey::Kind;
  // The ranges in `allowed` mirror dataplane/config/config_snapshot.h (ConfigBounds); the node
  // enforces them.
  static const std::vector<ConfigKey> keys = {
      {"delay", Kind::kDuration, "a duration >= 0 like 250ms, 1.5s or 0s (0s-1h)"},
      {"body", Kind::kString, "any text (at most 1MiB)"},
      {"workers", Kind::kCount, "an integer 1-256"},
      {"max_connections", Kind::kCount, "an integer 0-10000000 (0 = as the fd limit allows)"},
      {"max_pending", Kind::kCount, "an integer 0-10000000 (0 = unlimited)"},
      {"rate_limit", Kind::kCount, "an integer 0-100000000, requests/s (0 = off)"},
      {"header_timeout", Kind::kDuration, "a duration like 10s or 500ms (1ms-1h)"},
      {"idle_timeout", Kind::kDuration, "a duration like 60s or 2m (1ms-24h)"},
      {"max_header_bytes", Kind::kSize, "a size like 8KiB, 16k or 8192 (256-1MiB)"},
      {"max_body_bytes", Kind::kSize, "a size like 1MiB, 64KiB or 0 (0-1TiB)"},
      {"max_requests_per_connection", Kind::kCount, "an integer >= 0 (0 = unlimited)"},
      {"routes", Kind::kRoutes,
       "a JSON array of Route objects like [{\"prefix\":\"/api/\",\"action\":\"PROXY\","
       "\"upstreams\":[\"10.0.0.1:80\"]}] ([] = none)"},
      // `faults` is no key: `proxyctl fault` edits the rule list (fault_commands.cc).
      {"max_active_faults", Kind::kCount,
       "an integer 0-10000000, requests delayed or throttled at once (0 = unlimited)"},
      {"fault_seed", Kind::kCount, "an integer >= 0 (0 = random at start)"},
      {"tcp_proxies", Kind::kTcpProxies,
       "a JSON array of TcpProxy objects like [{\"name\":\"redis\",\"listen\":"
       "\"127.0.0.1:16379\",\"upstream\":\"127.0.0.1:6379\"}] (none = no proxies); "
       "`proxyctl tcp` and `toxic` edit them one by one"},
      {"upstream", Kind::kUpstreamPool,
       "HOST:PORT[,HOST:PORT...]: every path proxied to this pool (empty = no routes)"},
  };
  return keys;
}

std::string FieldName(const ConfigKey& key) {
  return key.kind == ConfigKey::Kind::kUpstreamPool ? "routes" : key.name;
}

const ConfigKey* FindConfigKey(std::string_view name) {
  std::string normalized(name);
  for (char& c : normalized) {
    if (c == '-') c = '_';
  }
  for (const ConfigKey& key : ConfigKeys()) {
    if (normalized == key.name) return &key;
  }
  return nullptr;
}

std::string ConfigKeyList() {
  std::string list;
  for (const ConfigKey& key : ConfigKeys()) {
    list += (list.empty() ? "" : ", ") + std::string(key.name);
  }
  return list;
}

absl::StatusOr<ConfigChange> ParseAssignments(const std::vector<std::string>& assignments) {
  if (assignments.empty()) {
    return absl::InvalidArgumentError("nothing to set: give key=value pairs, e.g. delay=250ms");
  }
  ConfigChange change;
  std::map<std::string, std::string> seen;  // field -> the key that set it
  for (const std::string& assignment : assignments) {
    size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          assignment + ": expected key=value, e.g. delay=250ms; keys: " + ConfigKeyList());
    }
    std::string name = assignment.substr(0, equals);
    std::string value = assignment.substr(equals + 1);
    if (name == "version") {
      return absl::InvalidArgumentError(
          assignment + ": version is output only; use --expected-version to guard an update");
    }
    const ConfigKey* key = FindConfigKey(name);
    if (key == nullptr) {
      std::vector<std::string> keys;
      for (const ConfigKey& known : ConfigKeys()) keys.push_back(known.name);
      return absl::InvalidArgumentError(WithSuggestion(assignment + ": unknown key", name, keys) +
                                        "; keys: " + ConfigKeyList());
    }
    const std::string field = FieldName(*key);
    if (auto [it, inserted] = seen.emplace(field, key->name); !inserted) {
      return absl::InvalidArgumentError(
          assignment + ": " +
          (it->second == key->name ? field + " is given twice"
                                   : it->second + " and " + key->name + " both set " + field));
    }
    if (absl::Status status = SetValue(*key, assignment, value, change.config); !status.ok()) {
      return status;
    }
    change.mask.add_paths(field);
  }
  return change;
}

absl::StatusOr<ConfigChange> ParseConfigText(const std::string& text) {
  ConfigChange change;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(text, &change.config, options);
    if (!status.ok()) {
      // The parser appends the offending text and a caret on lines of their own.
      std::string message(status.message());
      return absl::InvalidArgumentError("JSON: " + message.substr(0, message.find('\n')));
    }
  } else {
    // Collects the parser's messages instead of letting it log them to stderr.
    class Collector : public google::protobuf::io::ErrorCollector {
     public:
      void AddError(int line, int column, const std::string& message) override {
        errors += (errors.empty() ? "" : "; ") + std::string("line ") + std::to_string(line + 1) +
                  " column " + std::to_string(column + 1) + ": " + message;
      }
      std::string errors;
    } collector;
    google::protobuf::TextFormat::Parser parser;
    parser.RecordErrorsTo(&collector);
    if (!parser.ParseFromString(text, &change.config)) {
      return absl::InvalidArgumentError("text format: " + collector.errors);
    }
  }
  change.mask = PresentFields(change.config);
  if (change.mask.paths().empty()) {
    return absl::InvalidArgumentError("sets no field; fields: " + ConfigKeyList());
  }
  return change;
}

google::protobuf::FieldMask PresentFields(const NodeConfig& config) {
  google::protobuf::FieldMask mask;
  std::vector<const FieldDescriptor*> fields;
  config.GetReflection()->ListFields(config, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->name() != "version") mask.add_paths(field->name());
  }
  return mask;
}

std::vector<std::string> FormatRoutes(const NodeConfig& config) {
  std::vector<std::string> lines;
  for (const proxynode::v1::Route& route : config.routes()) {
    lines.push_back(FormatRoute(route));
  }
  return lines;
}

std::string FormatConfigValue(const NodeConfig& config, const ConfigKey& key) {
  if (key.kind == ConfigKey::Kind::kRoutes || key.kind == ConfigKey::Kind::kUpstreamPool) {
    std::string joined;
    for (const std::string& line : FormatRoutes(config)) {
      joined += (joined.empty() ? "" : "; ") + line;
    }
    return joined.empty() ? "none" : joined;
  }
  if (key.kind == ConfigKey::Kind::kTcpProxies) return FormatTcpProxies(config);
  const FieldDescriptor* field = Field(key);
  const google::protobuf::Reflection* reflection = config.GetReflection();
  if (!reflection->HasField(config, field)) return "";
  switch (key.kind) {
    case ConfigKey::Kind::kString:
      return Quote(reflection->GetString(config, field));
    case ConfigKey::Kind::kDuration: {
      const auto& duration =
          static_cast<const google::protobuf::Duration&>(reflection->GetMessage(config, field));
      return FormatDuration(duration.seconds() * kNanosPerSecond + duration.nanos());
    }
    case ConfigKey::Kind::kCount:
    case ConfigKey::Kind::kSize: {
      uint64_t value = field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64
                           ? reflection->GetUInt64(config, field)
                           : reflection->GetUInt32(config, field);
      return key.kind == ConfigKey::Kind::kSize ? FormatSizeExact(value) : std::to_string(value);
    }
    case ConfigKey::Kind::kRoutes:
    case ConfigKey::Kind::kUpstreamPool:
    case ConfigKey::Kind::kTcpProxies:
      break;  // handled above: a list, not a field with presence
  }
  return "";
}

std::optional<std::string> Unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i + 1 >= text.size()) return std::nullopt;  // a lone backslash before the quote
    switch (text[i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '"':
      case '\\':
        out += text[i];
        break;
      case 'x': {
        if (i + 3 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
          return std::nullopt;
        }
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\x%02x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace proxyctl
