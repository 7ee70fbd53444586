#include "controlplane/toxiproxy_translation.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/struct_fields.h"
#include "controlplane/toxiproxy_attributes.h"
#include "controlplane/toxiproxy_json.h"

namespace proxynode::toxiproxy {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string_view StreamName(v1::Toxic::Stream stream) {
  return stream == v1::Toxic::UPSTREAM ? "upstream" : "downstream";
}

// The attributes member when the body has one (null counts as none).
absl::StatusOr<const Struct*> AttributesMember(const Struct& body) {
  const Value* attributes = StructField(body, "attributes");
  if (attributes == nullptr || attributes->has_null_value()) {
    return static_cast<const Struct*>(nullptr);
  }
  return AsObject(*attributes, "attributes");
}

absl::Status ReadToxicity(const Struct& body, v1::Toxic& toxic) {
  absl::StatusOr<std::optional<double>> toxicity = NumberMember(body, "toxicity");
  if (!toxicity.ok()) {
    return toxicity.status();
  }
  if (toxicity->has_value()) {
    // Toxiproxy takes any number (above 1 always fires, below 0 never): the node keeps
    // [0, 1], so the API brings it there.
    toxic.set_toxicity(std::clamp(**toxicity, 0.0, 1.0));
  }
  return absl::OkStatus();
}

absl::Status MissingField(std::string_view field, std::string_view where) {
  return absl::InvalidArgumentError(
      absl::StrCat("missing required field: ", std::string(field), std::string(where)));
}

}  // namespace

std::string ToxicJson(const v1::Toxic& toxic) {
  return absl::StrCat("{\"name\":", Quoted(toxic.name()),
                      ",\"type\":", Quoted(ToxicTypeName(toxic.kind_case())),
                      ",\"stream\":", Quoted(StreamName(toxic.stream())),
                      ",\"toxicity\":", Float32(toxic.has_toxicity() ? toxic.toxicity() : 1.0),
                      ",\"attributes\":", AttributesJson(toxic), "}");
}

std::string ToxicsJson(const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics) {
  std::string listed;
  for (const v1::Toxic::Stream stream : {v1::Toxic::UPSTREAM, v1::Toxic::DOWNSTREAM}) {
    for (const v1::Toxic& toxic : toxics) {
      if (toxic.stream() == stream) {
        absl::StrAppend(&listed, listed.empty() ? "" : ",", ToxicJson(toxic));
      }
    }
  }
  return absl::StrCat("[", listed, "]");
}

std::string ProxyJson(const v1::TcpProxy& proxy) {
  const bool enabled = !proxy.has_enabled() || proxy.enabled();
  return absl::StrCat("{\"name\":", Quoted(proxy.name()), ",\"listen\":", Quoted(proxy.listen()),
                      ",\"upstream\":", Quoted(proxy.upstream()),
                      ",\"enabled\":", enabled ? "true" : "false",
                      ",\"toxics\":", ToxicsJson(proxy.toxics()), "}");
}

absl::StatusOr<v1::Toxic> NewToxicFromJson(const Value& body) {
  absl::StatusOr<const Struct*> object = AsObject(body, "the body");
  if (!object.ok()) {
    return object.status();
  }
  absl::StatusOr<std::optional<std::string>> name = StringMember(**object, "name");
  absl::StatusOr<std::optional<std::string>> type = StringMember(**object, "type");
  absl::StatusOr<std::optional<std::string>> stream = StringMember(**object, "stream");
  for (const absl::Status& status : {name.status(), type.status(), stream.status()}) {
    if (!status.ok()) {
      return status;
    }
  }
  v1::Toxic toxic;
  toxic.set_toxicity(1.0);
  if (absl::Status status = ReadToxicity(**object, toxic); !status.ok()) {
    return status;
  }
  // Toxiproxy checks in this order: the stream, then the type.
  const std::string stream_name = stream->value_or("downstream");
  if (absl::EqualsIgnoreCase(stream_name, "upstream")) {
    toxic.set_stream(v1::Toxic::UPSTREAM);
  } else if (!absl::EqualsIgnoreCase(stream_name, "downstream")) {
    return absl::InvalidArgumentError("stream was invalid, can be either upstream or downstream");
  }
  const std::string type_name = type->value_or("");
  if (!SetToxicType(type_name, toxic)) {
    return absl::InvalidArgumentError("invalid toxic type");
  }
  // Toxiproxy names it after the stream as written ("latency_UPSTREAM" stays so).
  toxic.set_name(name->value_or("").empty() ? absl::StrCat(type_name, "_", stream_name) : **name);
  absl::StatusOr<const Struct*> attributes = AttributesMember(**object);
  if (!attributes.ok()) {
    return attributes.status();
  }
  if (*attributes != nullptr) {
    if (absl::Status status = ReadAttributes(**attributes, toxic); !status.ok()) {
      return status;
    }
  }
  return toxic;
}

absl::Status UpdateToxicFromJson(const Value& body, v1::Toxic& toxic) {
  absl::StatusOr<const Struct*> object = AsObject(body, "the body");
  if (!object.ok()) {
    return object.status();
  }
  absl::StatusOr<const Struct*> attributes = AttributesMember(**object);
  if (!attributes.ok()) {
    return attributes.status();
  }
  if (*attributes != nullptr) {
    if (absl::Status status = ReadAttributes(**attributes, toxic); !status.ok()) {
      return status;
    }
  }
  return ReadToxicity(**object, toxic);
}

absl::StatusOr<v1::TcpProxy> NewProxyFromJson(const Value& body, std::string_view where) {
  absl::StatusOr<const Struct*> object = AsObject(body, "a proxy");
  if (!object.ok()) {
    return object.status();
  }
  v1::TcpProxy proxy;
  proxy.set_enabled(true);
  absl::StatusOr<std::optional<std::string>> name = StringMember(**object, "name");
  if (!name.ok()) {
    return name.status();
  }
  proxy.set_name(name->value_or(""));
  if (absl::Status status = UpdateProxyFromJson(body, proxy); !status.ok()) {
    return status;
  }
  if (proxy.name().empty()) {
    return MissingField("name", where);
  }
  if (proxy.upstream().empty()) {
    return MissingField("upstream", where);
  }
  proxy.set_listen(ListenAddress(proxy.listen()));
  return proxy;
}

absl::Status UpdateProxyFromJson(const Value& body, v1::TcpProxy& proxy) {
  absl::StatusOr<const Struct*> object = AsObject(body, "the body");
  if (!object.ok()) {
    return object.status();
  }
  absl::StatusOr<std::optional<std::string>> listen = StringMember(**object, "listen");
  absl::StatusOr<std::optional<std::string>> upstream = StringMember(**object, "upstream");
  absl::StatusOr<std::optional<bool>> enabled = BoolMember(**object, "enabled");
  for (const absl::Status& status : {listen.status(), upstream.status(), enabled.status()}) {
    if (!status.ok()) {
      return status;
    }
  }
  if (listen->has_value()) {
    proxy.set_listen(ListenAddress(**listen));
  }
  if (upstream->has_value()) {
    proxy.set_upstream(**upstream);
  }
  if (enabled->has_value()) {
    proxy.set_enabled(**enabled);
  }
  return absl::OkStatus();
}

std::string ListenAddress(std::string_view listen) {
  if (listen.empty()) {
    return "0.0.0.0:0";
  }
  if (listen.front() == ':') {
    return absl::StrCat("0.0.0.0", std::string(listen));
  }
  return std::string(listen);
}

}  // namespace proxynode::toxiproxy
