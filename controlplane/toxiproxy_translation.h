#pragma once

// Toxiproxy 2.x's JSON shapes of a proxy and a toxic, to and from the v1 API's TcpProxy and
// Toxic (the config every source of change shares). Attribute names and units are
// Toxiproxy's: latency, jitter, slow_close delay and the timeouts in milliseconds, bandwidth
// rate in KB/s, slicer delay in microseconds, sizes in bytes. Ranges are left to the config's
// own validation (ValidateTcpProxies), so the API refuses what gRPC refuses, in its words.
//
// Errors carry Toxiproxy's status as their code: INVALID_ARGUMENT (400) with its messages
// ("missing required field: name", "invalid toxic type", "stream was invalid, ...",
// "bad request body: ...").

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode::toxiproxy {

// {"name","type","stream","toxicity","attributes":{...}}
std::string ToxicJson(const v1::Toxic& toxic);
// [toxic, ...] in Toxiproxy's order: the upstream stream's toxics, then the downstream's, each
// in the order they were added (the config keeps them in one list).
std::string ToxicsJson(const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics);
// {"name","listen","upstream","enabled","toxics":[...]}
std::string ProxyJson(const v1::TcpProxy& proxy);

// The toxic POST /proxies/{proxy}/toxics creates, with Toxiproxy's defaults: stream
// downstream, toxicity 1, name "<type>_<stream>", attributes 0.
absl::StatusOr<v1::Toxic> NewToxicFromJson(const google::protobuf::Value& body);

// POST /proxies/{proxy}/toxics/{toxic}: the attributes and the toxicity `body` names, onto
// `toxic`; its name, type and stream stay (as Toxiproxy keeps them).
absl::Status UpdateToxicFromJson(const google::protobuf::Value& body, v1::Toxic& toxic);

// A proxy as POST /proxies or one entry of POST /populate creates it: enabled unless the
// body says otherwise, no toxics. `where` follows a missing field's name in the error
// (" at proxy 2" for populate, as Toxiproxy words it).
absl::StatusOr<v1::TcpProxy> NewProxyFromJson(const google::protobuf::Value& body,
                                              std::string_view where);

// POST /proxies/{proxy}: listen, upstream and enabled from `body`, onto `proxy`.
absl::Status UpdateProxyFromJson(const google::protobuf::Value& body, v1::TcpProxy& proxy);

// A listen address as Go's net.Listen reads it: "" and ":port" listen on every interface.
std::string ListenAddress(std::string_view listen);

}  // namespace proxynode::toxiproxy
