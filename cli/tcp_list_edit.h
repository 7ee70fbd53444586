#pragma once

// Edits of a node's TCP proxy list (NodeConfig.tcp_proxies) and of a proxy's toxics, as the
// `tcp` and `toxic` commands make them on the list they read. Pure, so that the refusals (a
// name taken, a name unknown) are decided the same way on every attempt of a
// read-modify-write (tcp_update.h) and are unit-tested. Every refusal is one line; an
// unknown name lists the names there are and suggests the closest.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

using TcpProxies = google::protobuf::RepeatedPtrField<proxynode::v1::TcpProxy>;

// Appends `proxy`; a taken name is ALREADY_EXISTS.
absl::Status AddTcpProxy(TcpProxies& proxies, const proxynode::v1::TcpProxy& proxy);

// The proxy named `name`, or NOT_FOUND ("no TCP proxy named \"x\"; proxies: a, b").
absl::StatusOr<proxynode::v1::TcpProxy*> FindTcpProxy(TcpProxies& proxies, const std::string& name);

// Removes the proxy named `name` (NOT_FOUND as FindTcpProxy).
absl::Status RemoveTcpProxy(TcpProxies& proxies, const std::string& name);

// Appends `toxic` to `proxy`'s toxics; a name the proxy has is ALREADY_EXISTS.
absl::Status AddToxic(proxynode::v1::TcpProxy& proxy, const proxynode::v1::Toxic& toxic);

// The toxic named `name` on `proxy`, or NOT_FOUND naming the proxy and its toxics.
absl::StatusOr<proxynode::v1::Toxic*> FindToxic(proxynode::v1::TcpProxy& proxy,
                                                const std::string& name);

// Removes the toxic named `name` from `proxy` (NOT_FOUND as FindToxic).
absl::Status RemoveToxic(proxynode::v1::TcpProxy& proxy, const std::string& name);

// Whether a proxy is enabled: `enabled` unset means true.
bool IsEnabled(const proxynode::v1::TcpProxy& proxy);

// "a, b, c"; "none" for no proxies.
std::string TcpProxyNames(const TcpProxies& proxies);

}  // namespace proxyctl
