#pragma once

// Translates TCP proxies and their toxics between the public API (v1::TcpProxy, v1::Toxic)
// and the data plane (TcpProxyConfig, ToxicConfig). Range checks are the data plane's
// (ValidateTcpProxies); this refuses only what cannot be represented (a toxic without a
// type, a malformed duration), naming the field.

#include <string>

#include "absl/status/statusor.h"
#include "dataplane/config/tcp_proxy_config.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

absl::StatusOr<TcpProxyConfig> TcpProxyFromProto(const std::string& field,
                                                 const v1::TcpProxy& proto);
absl::StatusOr<ToxicConfig> ToxicFromProto(const std::string& field, const v1::Toxic& proto);

// Every field set (toxicity and enabled included), so GetConfig shows what runs.
v1::TcpProxy ToProto(const TcpProxyConfig& proxy);
v1::Toxic ToProto(const ToxicConfig& toxic);

}  // namespace proxynode
