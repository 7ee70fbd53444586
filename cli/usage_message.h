#pragma once

// How proxyctl words a command line it cannot parse: one line naming the command and the
// token that is wrong, with the closest command or flag suggested, and where its --help is.
// Also the command tree's names, which the suggestions and the flag-spelling check read.

#include <string>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string helpers
// (CLI::detail::split); the suppression covers CLI11's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "CLI/CLI.hpp"
#pragma GCC diagnostic pop

namespace proxyctl {

// "proxyctl config set".
std::string CommandPath(const CLI::App* app);
// The deepest command the parse got into.
CLI::App* Deepest(CLI::App* app);
// "status, config, ...": the commands under `app`.
std::string SubcommandNames(const CLI::App* app);
// Every long flag of every command ("--addr", ...), for CanonicalFlagSpelling.
void CollectLongFlags(const CLI::App* app, std::vector<std::string>& flags);
// One line for any parse error; `command_line` is argv as parsed.
std::string UsageMessage(const CLI::ParseError& error, CLI::App& root,
                         const std::vector<std::string>& command_line);

}  // namespace proxyctl
