#pragma once

// Runs the real proxyctl binary (PROXYCTL_BINARY, set by tests/cli/CMakeLists.txt) the way a
// person does, for the tests that drive proxyctl against real nodes (NodeProcess).

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/testing/node_process.h"

namespace proxynode::testing {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// "exit N", then stdout and stderr: readable in assertion messages.
std::ostream& operator<<(std::ostream& os, const Result& r);

// Runs proxyctl with `args`, stdin from /dev/null and an environment without PROXYCTL_ADDR
// (plus `env`), and collects stdout, stderr and the exit code; killed after 20 s. With
// `interrupt_after`, sends SIGINT (Ctrl-C) once that long has passed and proxyctl has
// printed something (slow builds, e.g. under TSan, take a while to print the first line).
Result Proxyctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                std::optional<std::chrono::milliseconds> interrupt_after = std::nullopt);

// "127.0.0.1:PORT" of the node's control listener.
std::string Addr(const NodeProcess& node);

// Runs against `node`: --addr first, then `args`.
Result RunOn(const NodeProcess& node, std::vector<std::string> args);

// Lines of output (newlines counted).
size_t Lines(const std::string& text);

}  // namespace proxynode::testing
