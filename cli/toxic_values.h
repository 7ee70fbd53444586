#pragma once

// The arguments `proxyctl toxic add|update` take for a TCP proxy's toxic (issue 19), shaped
// like toxiproxy-cli's: a type (-t latency), attributes (-a latency=1000 -a jitter=50), a
// direction (--upstream / --downstream) and a toxicity (--toxicity 0.5).
//
// Attributes keep Toxiproxy's names and units, so its users' numbers mean the same here:
//   latency     latency, jitter (ms); or distribution (a --delay form of `fault add`),
//               which replaces them (and they it)
//   bandwidth   rate (KB/s, 1 KB = 1000 bytes); shared (true/false, proxynode's)
//   slow_close  delay (ms)
//   timeout     timeout (ms)
//   reset_peer  timeout (ms)
//   slicer      average_size, size_variation (bytes); delay (µs)
//   limit_data  bytes
//   down        none
// A duration may also carry its unit ("latency=250ms", "delay=1s"); a bare number is in the
// unit Toxiproxy uses for it. Syntax only, as for config keys: ranges are the node's.
// Errors are INVALID_ARGUMENT with one line naming the argument as typed.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down.
const std::vector<std::string>& ToxicTypes();

// The attribute names `type` takes (empty for down, and for an unknown type).
std::vector<std::string> ToxicAttributeNames(std::string_view type);

// `toxic`'s type as Toxiproxy names it; "" when none is set.
std::string ToxicTypeName(const proxynode::v1::Toxic& toxic);

// "upstream" or "downstream".
std::string StreamName(proxynode::v1::Toxic::Stream stream);

// "<type>_<stream>", as Toxiproxy names a toxic given no name: "latency_downstream".
std::string DefaultToxicName(std::string_view type, proxynode::v1::Toxic::Stream stream);

// --toxicity: a probability in [0, 1] ("0.5", "1").
absl::StatusOr<double> ParseToxicity(const std::string& text);

// Sets one "-a KEY=VALUE" on `toxic`, whose type is already set; an attribute its type does
// not take is refused, with a suggestion when the key looks like a typo of one it does.
absl::Status SetToxicAttribute(proxynode::v1::Toxic& toxic, const std::string& assignment);

struct ToxicSpec {
  std::string type;                     // -t
  std::string name;                     // -n; "" = DefaultToxicName
  std::vector<std::string> attributes;  // -a KEY=VALUE, in order
  bool upstream = false;                // --upstream (else downstream, Toxiproxy's default)
  std::string toxicity;                 // --toxicity; "" = 1
};

// A new toxic from `toxic add`'s arguments. An attribute left out is 0 (Toxiproxy's
// default for every attribute), except bandwidth's rate, which the node needs (>= 1).
absl::StatusOr<proxynode::v1::Toxic> BuildToxic(const ToxicSpec& spec);

// The -a values one attribute each: "latency=1000,jitter=50" (toxiproxy-cli takes commas
// too) is split where a comma is followed by an attribute name and '=', so that a
// distribution's own commas stay ("distribution=lognormal:p50=5ms,p99=200ms").
std::vector<std::string> SplitAttributes(const std::vector<std::string>& attributes);

// Whether "-a KEY=VALUE" has that shape and a KEY some toxic type takes (for `toxic update`,
// before the toxic's type is known); else the error, with a suggestion.
absl::Status CheckAttributeName(const std::string& assignment);

// `toxic update`: the attributes (split as SplitAttributes does) and toxicity given onto
// `toxic`; the rest is kept.
absl::Status UpdateToxic(proxynode::v1::Toxic& toxic, const std::vector<std::string>& attributes,
                         const std::string& toxicity);

}  // namespace proxyctl
