#pragma once

// The command line: builds the command tree (CLI11), maps parse errors to exit code 2 with
// one line on stderr, resolves the global flags and runs the chosen command.

namespace proxyctl {

// The whole program; returns the exit code. May throw only what the standard library
// throws (bad_alloc); main() catches that.
int RunMain(int argc, char** argv);

}  // namespace proxyctl
