#pragma once

// Runs one command on the node, or with --all on every node in parallel, and prints the
// results: the command's own view for one node; for --all one table row per node (a failed
// node's row carries its error) or a JSON array of {"addr", "ok", "error", "result"}. The
// exit code is the worst of the nodes'.

#include <functional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/node_client.h"
#include "cli/printer.h"

namespace proxyctl {

struct NodeReport {
  Outcome outcome;
  std::string json;       // the result, when ok
  std::string text;       // the one-node view, when ok; empty: `rows` as a table
  std::vector<Row> rows;  // --all table rows (and the default one-node view), without ADDR
  // A caution for stderr after the output, e.g. that a watched config file owns the node's
  // config; empty: none. One line, ending with '\n'.
  std::string note = {};
};

using NodeTask = std::function<NodeReport(NodeClient& client)>;

// `headers`: the --all table's columns after ADDR.
int RunOnNodes(const Context& context, const Row& headers, const NodeTask& task);

// A command's JSON result as -o asks: JSON, or YAML with -o yaml.
void PrintDocument(const Context& context, const std::string& json);

// Output helpers: stdout as is; stderr prefixed with "proxyctl: ".
void PrintOut(const std::string& text);
void PrintError(const std::string& message);

}  // namespace proxyctl
