#include "cli/tcp_list_edit.h"

#include <vector>

#include "cli/suggest.h"

namespace proxyctl {
namespace {

using proxynode::v1::TcpProxy;
using proxynode::v1::Toxic;

template <typename Items>
std::string Names(const Items& items) {
  std::string names;
  for (const auto& item : items) {
    if (!names.empty()) names += ", ";
    names += item.name();
  }
  return names.empty() ? "none" : names;
}

template <typename Items>
std::vector<std::string> NameList(const Items& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name());
  return names;
}

template <typename Items>
int IndexOf(const Items& items, const std::string& name) {
  for (int i = 0; i < items.size(); ++i) {
    if (items.Get(i).name() == name) return i;
  }
  return -1;
}

std::string Quoted(const std::string& name) {
  std::string out = "\"";
  out += name;
  out += '"';
  return out;
}

}  // namespace

absl::Status AddTcpProxy(TcpProxies& proxies, const TcpProxy& proxy) {
  if (IndexOf(proxies, proxy.name()) >= 0) {
    return absl::AlreadyExistsError("a TCP proxy named " + Quoted(proxy.name()) +
                                    " exists; `tcp update` changes it, or remove it first");
  }
  *proxies.Add() = proxy;
  return absl::OkStatus();
}

absl::StatusOr<TcpProxy*> FindTcpProxy(TcpProxies& proxies, const std::string& name) {
  const int at = IndexOf(proxies, name);
  if (at < 0) {
    return absl::NotFoundError(
        WithSuggestion("no TCP proxy named " + Quoted(name), name, NameList(proxies)) +
        "; proxies: " + Names(proxies));
  }
  return proxies.Mutable(at);
}

absl::Status RemoveTcpProxy(TcpProxies& proxies, const std::string& name) {
  absl::StatusOr<TcpProxy*> found = FindTcpProxy(proxies, name);
  if (!found.ok()) return found.status();
  proxies.DeleteSubrange(IndexOf(proxies, name), 1);
  return absl::OkStatus();
}

absl::Status AddToxic(TcpProxy& proxy, const Toxic& toxic) {
  if (IndexOf(proxy.toxics(), toxic.name()) >= 0) {
    return absl::AlreadyExistsError("TCP proxy " + Quoted(proxy.name()) + " has a toxic named " +
                                    Quoted(toxic.name()) +
                                    "; -n gives another name, or `toxic update` changes it");
  }
  *proxy.add_toxics() = toxic;
  return absl::OkStatus();
}

absl::StatusOr<Toxic*> FindToxic(TcpProxy& proxy, const std::string& name) {
  const int at = IndexOf(proxy.toxics(), name);
  if (at < 0) {
    return absl::NotFoundError(
        WithSuggestion("TCP proxy " + Quoted(proxy.name()) + " has no toxic named " + Quoted(name),
                       name, NameList(proxy.toxics())) +
        "; toxics: " + Names(proxy.toxics()));
  }
  return proxy.mutable_toxics(at);
}

absl::Status RemoveToxic(TcpProxy& proxy, const std::string& name) {
  absl::StatusOr<Toxic*> found = FindToxic(proxy, name);
  if (!found.ok()) return found.status();
  proxy.mutable_toxics()->DeleteSubrange(IndexOf(proxy.toxics(), name), 1);
  return absl::OkStatus();
}

bool IsEnabled(const TcpProxy& proxy) { return !proxy.has_enabled() || proxy.enabled(); }

std::string TcpProxyNames(const TcpProxies& proxies) { return Names(proxies); }

}  // namespace proxyctl
