#pragma once

// A toxic for people: its attributes in Toxiproxy's names, with units ("latency=250ms
// jitter=10ms", "rate=100KB/s shared"), as `toxic list` shows them.

#include <string>

#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// The attributes for a list: "latency=250ms jitter=10ms", "rate=100KB/s shared", "" for down.
std::string FormatToxicAttributes(const proxynode::v1::Toxic& toxic);

// One line: "latency_downstream: latency downstream latency=250ms jitter=10ms toxicity=0.5"
// (toxicity left out when 1).
std::string FormatToxic(const proxynode::v1::Toxic& toxic);

}  // namespace proxyctl
