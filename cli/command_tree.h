#pragma once

// The pieces app.cc and the files that build a command group (tcp_app.cc) share: what a
// runnable command does (Leaf), and helpers for adding commands and flags to the CLI11 tree.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/completion.h"  // CLI11, with its GCC 12 warning suppressed
#include "cli/context.h"

namespace proxyctl {

// A runnable (leaf) command: what it runs, and whether it talks to a node (only then are
// --addr and --timeout resolved, so a bad PROXYCTL_ADDR does not break `completion`).
struct Leaf {
  std::function<int(const Context*)> run;
  std::function<bool()> needs_node = [] { return true; };
  // It changes a node (config, faults, lifecycle): sent to several nodes, it asks first.
  std::function<bool()> changes = [] { return false; };
  // What makes it ask even for one node ("drain"); "" for nothing (confirm.h).
  std::function<std::string(const Context&)> risk = [](const Context&) { return std::string(); };
};

using Leaves = std::map<const CLI::App*, Leaf>;

// Marks `command` as one that changes nodes, with `risk` as in Leaf.
// `changes` false: this run changes nothing after all (a dry run).
inline void MarkChange(
    Leaves& leaves, const CLI::App* command,
    std::function<std::string(const Context&)> risk = [](const Context&) { return std::string(); },
    std::function<bool()> changes = [] { return true; }) {
  leaves[command].changes = std::move(changes);
  leaves[command].risk = std::move(risk);
}

inline CLI::App* AddLeaf(CLI::App& parent, const std::string& name, const std::string& description,
                         Leaves& leaves, Leaf leaf) {
  CLI::App* command = parent.add_subcommand(name, description);
  leaves[command] = std::move(leaf);
  return command;
}

inline constexpr char kExpectedVersionHelp[] =
    "Apply only if the node's config version is this (else refused, exit 1); without it the "
    "version read is used, and a change that lands first makes proxyctl read and try again";

// A repeatable flag that takes one value per occurrence (CLI11's vectors would otherwise
// swallow the words after it, the rule's name included).
inline CLI::Option* AddRepeatable(CLI::App* command, const std::string& name,
                                  std::vector<std::string>& values, const std::string& help) {
  return command->add_option(name, values, help)->allow_extra_args(false);
}

}  // namespace proxyctl
