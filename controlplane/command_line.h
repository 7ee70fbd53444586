#pragma once

// The node's command line checked before Abseil parses it. absl::ParseCommandLine meets a
// usage error (an unknown flag, a bad value, a missing one) with "ERROR: ..." and exit 1, and
// ignores arguments that are not flags; the node's contract is one plain line and exit 2, as
// for any other usage error (README). So argv is read here first with Abseil's own rules and
// parsers, and ParseCommandLine only ever sees what it will accept. (--help and the other
// Abseil usage flags are left to Abseil, as are the contents of --flagfile.)

#include "absl/status/status.h"

namespace proxynode {

// OK when absl::ParseCommandLine will accept `argv` and nothing in it is a stray argument;
// else INVALID_ARGUMENT naming the argument and what is wrong with it, e.g.
// `unknown flag --wokers (did you mean --workers?)` or `--workers=abc: not a number`.
// Values it checks are set on their flags as Abseil would set them.
absl::Status CheckCommandLine(int argc, char** argv);

}  // namespace proxynode
