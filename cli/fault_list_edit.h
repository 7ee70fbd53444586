#pragma once

// Edits of a node's fault rule list, as `fault add`, `fault remove` and `fault clear` make
// them on the list they read. Pure, so that the refusals (a name taken, a name unknown) are
// decided the same way on every attempt of a read-modify-write and are unit-tested.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

using FaultRules = google::protobuf::RepeatedPtrField<proxynode::v1::FaultRule>;

// Appends `rule`. With `replace`, a rule of the same name is replaced where it stands (rules
// are tried in order, so its place is kept); without, a taken name is ALREADY_EXISTS.
// `replaced` says which happened.
absl::Status PutFaultRule(FaultRules& rules, const proxynode::v1::FaultRule& rule, bool replace,
                          bool* replaced);

// Removes the rules named (a name given twice counts once). Any name that is not there is
// NOT_FOUND, naming every such name and the rules there are, and nothing is removed.
absl::Status RemoveFaultRules(FaultRules& rules, const std::vector<std::string>& names);

// "a, b, c"; "none" for no rules.
std::string FaultRuleNames(const FaultRules& rules);

}  // namespace proxyctl
