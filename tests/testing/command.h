#pragma once

// Runs a command (the node refusing its flags, proxyctl) to its exit and collects what it
// wrote, for tests that look at exit codes and messages.

#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/testing/node_process.h"

namespace proxynode::testing {

struct CommandResult {
  std::optional<ExitStatus> exit;  // nullopt: still running after the timeout (then killed)
  std::string out;
  std::string err;
};

// The exit status, then stdout and stderr: readable in assertion messages.
std::ostream& operator<<(std::ostream& os, const CommandResult& run);

// Runs `args` (args[0] is looked up on PATH) to its exit, for at most `timeout`, with stdin
// from /dev/null, stdout and stderr through files in `dir`, and the test's environment minus
// every PROXYCTL_* variable (so a developer's settings cannot change what a test sees).
CommandResult RunCommand(const std::vector<std::string>& args, const std::filesystem::path& dir,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The whole content of a file ("" if it cannot be read).
std::string ReadTextFile(const std::filesystem::path& path);

}  // namespace proxynode::testing
