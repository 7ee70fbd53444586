// The endpoints of the Toxiproxy-compatible API (toxiproxy_api.h): each reads the running
// config or edits its list of TCP proxies, and answers in Toxiproxy's shapes and codes.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controlplane/toxiproxy_api.h"
#include "controlplane/toxiproxy_json.h"
#include "controlplane/toxiproxy_translation.h"

namespace proxynode {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Value;
using toxiproxy::ErrorJson;
using Proxies = RepeatedPtrField<v1::TcpProxy>;

ControlHttpReply Json(int status, std::string body) {
  return {.status = status, .body = std::move(body)};
}

ControlHttpReply NoContent() { return {.status = 204, .body = "", .content_type = ""}; }

// Toxiproxy's status for a refusal. INVALID_ARGUMENT is its 400 and carries the config's own
// validation message; a draining node (or a config that would not settle) is 503.
int HttpStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// As Go's http.Error writes it: the JSON and a newline.
ControlHttpReply Error(const absl::Status& status) {
  const int code = HttpStatus(status);
  return Json(code, ErrorJson(std::string(status.message()), code) + "\n");
}

absl::Status ProxyNotFound() { return absl::NotFoundError("proxy not found"); }
absl::Status ToxicNotFound() { return absl::NotFoundError("toxic not found"); }

template <typename List>
auto* FindNamed(List& list, const std::string& name) {
  auto found =
      std::find_if(list.begin(), list.end(), [&](const auto& item) { return item.name() == name; });
  return found == list.end() ? nullptr : &*found;
}

template <typename List>
void EraseNamed(List& list, const std::string& name) {
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const auto& item) { return item.name() == name; }),
             list.end());
}

// The proxy as the applied config has it (its real listen address, its toxics).
std::string AppliedProxyJson(const v1::NodeConfig& applied, const v1::TcpProxy& submitted) {
  const v1::TcpProxy* proxy = FindNamed(applied.tcp_proxies(), submitted.name());
  return toxiproxy::ProxyJson(proxy != nullptr ? *proxy : submitted);
}

std::string AppliedToxicJson(const v1::NodeConfig& applied, const std::string& proxy,
                             const v1::Toxic& submitted) {
  const v1::TcpProxy* owner = FindNamed(applied.tcp_proxies(), proxy);
  const v1::Toxic* toxic =
      owner != nullptr ? FindNamed(owner->toxics(), submitted.name()) : nullptr;
  return toxiproxy::ToxicJson(toxic != nullptr ? *toxic : submitted);
}

}  // namespace

ControlHttpReply ToxiproxyApi::ListProxies() const {
  const v1::NodeConfig running = Running();
  std::vector<const v1::TcpProxy*> sorted;
  for (const v1::TcpProxy& proxy : running.tcp_proxies()) {
    sorted.push_back(&proxy);
  }
  // Go's encoder writes a map's keys in order.
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  std::string body = "{";
  for (const v1::TcpProxy* proxy : sorted) {
    absl::StrAppend(&body, body.size() > 1 ? "," : "", toxiproxy::Quoted(proxy->name()), ":",
                    toxiproxy::ProxyJson(*proxy));
  }
  return Json(200, body + "}");
}

ControlHttpReply ToxiproxyApi::CreateProxy(const ControlHttpRequest& request) {
  absl::StatusOr<Value> body = toxiproxy::ParseJson(request.body);
  if (!body.ok()) {
    return Error(body.status());
  }
  absl::StatusOr<v1::TcpProxy> proxy = toxiproxy::NewProxyFromJson(*body, "");
  if (!proxy.ok()) {
    return Error(proxy.status());
  }
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    if (FindNamed(proxies, proxy->name()) != nullptr) {
      return absl::AlreadyExistsError("proxy already exists");
    }
    *proxies.Add() = *proxy;
    return absl::OkStatus();
  });
  return applied.ok() ? Json(201, AppliedProxyJson(*applied, *proxy)) : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::Populate(const ControlHttpRequest& request) {
  // Toxiproxy's answer, refusals included, lists the proxies: none here, as a refused
  // populate changes nothing (Toxiproxy keeps those it made before the failing one).
  auto refuse = [](const absl::Status& status) {
    const int code = HttpStatus(status);
    return Json(code, absl::StrCat("{\"error\":", toxiproxy::Quoted(std::string(status.message())),
                                   ",\"status\":", code, ",\"proxies\":null}"));
  };
  absl::StatusOr<Value> body = toxiproxy::ParseJson(request.body);
  if (!body.ok()) {
    return refuse(body.status());
  }
  if (!body->has_list_value()) {
    return refuse(absl::InvalidArgumentError("bad request body: want an array of proxies"));
  }
  std::vector<v1::TcpProxy> inputs;
  for (int i = 0; i < body->list_value().values_size(); ++i) {
    absl::StatusOr<v1::TcpProxy> proxy = toxiproxy::NewProxyFromJson(
        body->list_value().values(i), absl::StrCat(" at proxy ", i + 1));
    if (!proxy.ok()) {
      return refuse(proxy.status());
    }
    inputs.push_back(*std::move(proxy));
  }
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    for (const v1::TcpProxy& input : inputs) {
      v1::TcpProxy* existing = FindNamed(proxies, input.name());
      if (existing == nullptr) {
        *proxies.Add() = input;
      } else if (existing->listen() != input.listen() || existing->upstream() != input.upstream()) {
        *existing = input;  // replaced whole: its toxics go, as in Toxiproxy
      }                     // else: kept as it is, toxics and enabled state included
    }
    return absl::OkStatus();
  });
  if (!applied.ok()) {
    return refuse(applied.status());
  }
  std::string listed;
  for (const v1::TcpProxy& input : inputs) {
    absl::StrAppend(&listed, listed.empty() ? "" : ",", AppliedProxyJson(*applied, input));
  }
  return Json(201, absl::StrCat("{\"proxies\":[", listed, "]}"));
}

ControlHttpReply ToxiproxyApi::Reset(const ControlHttpRequest& request) {
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [](Proxies& proxies) {
    for (v1::TcpProxy& proxy : proxies) {
      proxy.set_enabled(true);
      proxy.clear_toxics();
    }
    return absl::OkStatus();
  });
  return applied.ok() ? NoContent() : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::ShowProxy(const std::string& name) const {
  const v1::NodeConfig running = Running();
  const v1::TcpProxy* proxy = FindNamed(running.tcp_proxies(), name);
  return proxy != nullptr ? Json(200, toxiproxy::ProxyJson(*proxy)) : Error(ProxyNotFound());
}

ControlHttpReply ToxiproxyApi::UpdateProxy(const ControlHttpRequest& request,
                                           const std::string& name) {
  const absl::StatusOr<Value> body = toxiproxy::ParseJson(request.body);
  v1::TcpProxy updated;
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    v1::TcpProxy* proxy = FindNamed(proxies, name);
    if (proxy == nullptr) {
      return ProxyNotFound();  // before the body, as Toxiproxy checks
    }
    if (!body.ok()) {
      return body.status();
    }
    absl::Status status = toxiproxy::UpdateProxyFromJson(*body, *proxy);
    updated = *proxy;
    return status;
  });
  return applied.ok() ? Json(200, AppliedProxyJson(*applied, updated)) : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::DeleteProxy(const ControlHttpRequest& request,
                                           const std::string& name) {
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    if (FindNamed(proxies, name) == nullptr) {
      return ProxyNotFound();
    }
    EraseNamed(proxies, name);
    return absl::OkStatus();
  });
  return applied.ok() ? NoContent() : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::ListToxics(const std::string& proxy) const {
  const v1::NodeConfig running = Running();
  const v1::TcpProxy* found = FindNamed(running.tcp_proxies(), proxy);
  if (found == nullptr) {
    return Error(ProxyNotFound());
  }
  return Json(200, toxiproxy::ToxicsJson(found->toxics()));
}

ControlHttpReply ToxiproxyApi::CreateToxic(const ControlHttpRequest& request,
                                           const std::string& proxy) {
  const absl::StatusOr<Value> body = toxiproxy::ParseJson(request.body);
  v1::Toxic created;
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    v1::TcpProxy* owner = FindNamed(proxies, proxy);
    if (owner == nullptr) {
      return ProxyNotFound();
    }
    if (!body.ok()) {
      return body.status();
    }
    absl::StatusOr<v1::Toxic> toxic = toxiproxy::NewToxicFromJson(*body);
    if (!toxic.ok()) {
      return toxic.status();
    }
    if (FindNamed(owner->toxics(), toxic->name()) != nullptr) {
      return absl::AlreadyExistsError("toxic already exists");
    }
    created = *toxic;
    *owner->add_toxics() = *std::move(toxic);
    return absl::OkStatus();
  });
  return applied.ok() ? Json(200, AppliedToxicJson(*applied, proxy, created))
                      : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::ShowToxic(const std::string& proxy, const std::string& toxic) const {
  const v1::NodeConfig running = Running();
  const v1::TcpProxy* owner = FindNamed(running.tcp_proxies(), proxy);
  if (owner == nullptr) {
    return Error(ProxyNotFound());
  }
  const v1::Toxic* found = FindNamed(owner->toxics(), toxic);
  return found != nullptr ? Json(200, toxiproxy::ToxicJson(*found)) : Error(ToxicNotFound());
}

ControlHttpReply ToxiproxyApi::UpdateToxic(const ControlHttpRequest& request,
                                           const std::string& proxy, const std::string& toxic) {
  const absl::StatusOr<Value> body = toxiproxy::ParseJson(request.body);
  v1::Toxic updated;
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    v1::TcpProxy* owner = FindNamed(proxies, proxy);
    if (owner == nullptr) {
      return ProxyNotFound();
    }
    v1::Toxic* found = FindNamed(*owner->mutable_toxics(), toxic);
    if (found == nullptr) {
      return ToxicNotFound();
    }
    if (!body.ok()) {
      return body.status();
    }
    absl::Status status = toxiproxy::UpdateToxicFromJson(*body, *found);
    updated = *found;
    return status;
  });
  return applied.ok() ? Json(200, AppliedToxicJson(*applied, proxy, updated))
                      : Error(applied.status());
}

ControlHttpReply ToxiproxyApi::DeleteToxic(const ControlHttpRequest& request,
                                           const std::string& proxy, const std::string& toxic) {
  absl::StatusOr<v1::NodeConfig> applied = Change(request.peer, [&](Proxies& proxies) {
    v1::TcpProxy* owner = FindNamed(proxies, proxy);
    if (owner == nullptr) {
      return ProxyNotFound();
    }
    if (FindNamed(owner->toxics(), toxic) == nullptr) {
      return ToxicNotFound();
    }
    EraseNamed(*owner->mutable_toxics(), toxic);
    return absl::OkStatus();
  });
  return applied.ok() ? NoContent() : Error(applied.status());
}

}  // namespace proxynode
