#pragma once

// Commands that take a fleet down ask before acting: a drain, a change of the worker count,
// and any change sent to several nodes. On a terminal proxyctl asks; elsewhere (a script, a
// pipe) the command needs --yes, so that nothing runs unconfirmed by accident.

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "cli/node_client.h"

namespace proxyctl {

// What a command is about to do, in words, or "" when it needs no confirmation: `risk` is
// the command's own ("drain", "change the worker count of"), `changes` whether it changes
// anything at all (a change to several nodes is confirmed too).
std::string DescribeRisk(const std::string& risk, bool changes,
                         const std::vector<std::string>& addresses);

// Ok when `what` is empty, `yes` is set, or the user answers y/yes on `in` to the question
// written on `out` (only when `interactive`); otherwise a usage failure saying nothing was
// sent and how to confirm.
Outcome Confirm(const std::string& what, bool yes, bool interactive, std::istream& in,
                std::ostream& out);

}  // namespace proxyctl
