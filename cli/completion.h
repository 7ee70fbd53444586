#pragma once

// `proxyctl completion bash`: a bash completion script generated from the command tree
// itself, so every command and flag added to app.cc is completed without a second list to
// keep in sync. Values that CLI11 cannot know (config keys, -o formats) come as hints.

#include <map>
#include <set>
#include <string>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string helpers
// (CLI::detail::split); the suppression covers CLI11's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "CLI/CLI.hpp"
#pragma GCC diagnostic pop

namespace proxyctl {

struct CompletionHints {
  // Flag name ("--output") -> the words its value can be; "@file" completes file names.
  std::map<std::string, std::string> option_values;
  // Command path ("config set") -> words for its positional arguments.
  std::map<std::string, std::string> positional_words;
  // Paths whose positional words end in '=' and take no space after them.
  std::set<std::string> no_space_paths;
};

std::string BashCompletionScript(const CLI::App& root, const CompletionHints& hints);

}  // namespace proxyctl
