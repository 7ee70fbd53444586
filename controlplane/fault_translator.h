#pragma once

// Translates fault rules between the public API (v1::FaultRule) and the data plane
// (FaultRule). Range checks are the data plane's (ValidateFaultRules); this refuses only
// what cannot be represented at all (an unknown method, a malformed CIDR or duration),
// naming the field.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/fault/fault_rule.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

// A delay distribution (fault rules, latency toxics); `field` names it in refusals.
absl::StatusOr<DelayDistribution> DistributionFromProto(const std::string& field,
                                                        const v1::DelayDistribution& proto);
v1::DelayDistribution ToProto(const DelayDistribution& d);

// `now` turns an `expires_after` into an absolute expiry.
absl::StatusOr<FaultRule> FaultRuleFromProto(const std::string& field, const v1::FaultRule& proto,
                                             absl::Time now);

// Every field set that differs from its default (`expires_after` never: it became
// `expires_at`).
v1::FaultRule ToProto(const FaultRule& rule);

}  // namespace proxynode
