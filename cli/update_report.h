#pragma once

// How proxyctl reports a node's answer to a change (config set, apply, rollback): what it
// did (applied, unchanged, or a dry run), the version, and the diff, one field per line:
//   applied on 127.0.0.1:9090: config version 3 in 210us
//     delay: 100ms -> 250ms
// When a watched config file owns the node, a note says that its next change wins.

#include <string>
#include <string_view>

#include "cli/fleet.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// "note: ADDR takes its config from the watched file PATH; ...\n", or "" when `path` is empty.
std::string WatchedFileNote(const std::string& address, const std::string& path);

// The --all table's columns after ADDR for such a report.
Row UpdateReportHeaders();

// `verb` names the change in the report: "applied", "rolled back".
NodeReport UpdateReport(const std::string& address,
                        const proxynode::v1::UpdateConfigResponse& response, std::string_view verb);

// "  delay: 100ms -> 250ms\n" for each changed field; an added entry reads "+ field: value",
// a removed one "- field: value".
std::string DiffLines(
    const google::protobuf::RepeatedPtrField<proxynode::v1::ConfigFieldChange>& diff);

// Whether the diff changes `field` (e.g. "workers", which asks for confirmation).
bool DiffTouches(const proxynode::v1::UpdateConfigResponse& response, std::string_view field);

// The same on one line for a table cell: "delay: 100ms -> 250ms; workers: 2 -> 3".
std::string DiffCell(
    const google::protobuf::RepeatedPtrField<proxynode::v1::ConfigFieldChange>& diff);

}  // namespace proxyctl
