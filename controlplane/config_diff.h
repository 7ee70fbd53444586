#pragma once

// What differs between two configs, field by field, for the answers to UpdateConfig and
// RollbackConfig, the history and the audit log. It walks the proto by reflection, so a field
// added to NodeConfig shows in diffs without a change here. List entries that carry a
// `name` or a `prefix` (routes, fault rules) are matched by it, so one changed route reads
// "routes[/api/].delay: 200ms -> 1s" rather than as a new list; a changed order of such
// entries is its own line, since fault rules are tried in order.

#include <string>
#include <vector>

#include "proxynode/v1/control.pb.h"

namespace proxynode {

// Every field of `after` that differs from `before`, in field order; "version" is left out.
// Values are as a person would write them ("250ms", "\"Hello\\n\"", "PROXY"); a string longer
// than a log line should carry is cut and says its size.
std::vector<v1::ConfigFieldChange> DiffConfigs(const v1::NodeConfig& before,
                                               const v1::NodeConfig& after);

// The diff as a JSON array of {"field", "before", "after"}, for the audit log.
std::string DiffToJson(const std::vector<v1::ConfigFieldChange>& diff);

}  // namespace proxynode
