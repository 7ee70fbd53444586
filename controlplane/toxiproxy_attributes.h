#pragma once

// A toxic's type and attributes as Toxiproxy names them and in its units: latency, jitter,
// slow_close delay and the timeouts in milliseconds, bandwidth rate in KB/s, the slicer's
// delay in microseconds, sizes in bytes (toxiproxy_translation.h uses these).

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode::toxiproxy {

// "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data",
// "down"; "" when none is set.
std::string_view ToxicTypeName(v1::Toxic::KindCase kind);

// Gives `toxic` the type named `type` (its attributes all 0); false for an unknown name.
bool SetToxicType(std::string_view type, v1::Toxic& toxic);

// The attributes `attributes` names, onto the toxic's type; the others stay. Whole numbers
// only, and sizes not negative: INVALID_ARGUMENT "bad request body: ..." otherwise.
absl::Status ReadAttributes(const google::protobuf::Struct& attributes, v1::Toxic& toxic);

// {"latency":100,"jitter":5} and so on for the toxic's type; {} for down.
std::string AttributesJson(const v1::Toxic& toxic);

}  // namespace proxynode::toxiproxy
