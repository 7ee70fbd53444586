#include "cli/fleet.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include "cli/yaml_output.h"

namespace proxyctl {
namespace {

// Enough parallelism that a fleet answers in about one node's time, without opening
// hundreds of connections at once.
constexpr size_t kMaxParallel = 16;

std::vector<NodeReport> RunAll(const Context& context, const NodeTask& task) {
  std::vector<NodeReport> reports(context.addresses.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < reports.size(); i = next++) {
      NodeClient client(context.addresses[i], context.timeout, context.transport);
      reports[i] = task(client);
    }
  };
  std::vector<std::thread> threads;
  size_t count = std::min(kMaxParallel, reports.size());
  for (size_t i = 1; i < count; ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& thread : threads) thread.join();
  return reports;
}

}  // namespace

void PrintDocument(const Context& context, const std::string& json) {
  std::optional<std::string> yaml = context.yaml ? JsonToYaml(json) : std::nullopt;
  PrintOut(yaml ? *yaml : json + "\n");
}

void PrintOut(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void PrintError(const std::string& message) {
  std::fprintf(stderr, "proxyctl: %s\n", message.c_str());
}

int RunOnNodes(const Context& context, const Row& headers, const NodeTask& task) {
  if (!context.all) {
    NodeClient client(context.addresses.front(), context.timeout, context.transport);
    NodeReport report = task(client);
    if (!report.outcome.ok()) {
      PrintError(report.outcome.error);
      return report.outcome.exit_code;
    }
    if (context.json) {
      PrintDocument(context, report.json);
    } else if (!report.text.empty()) {
      PrintOut(report.text);
    } else {
      Row columns = {"ADDR"};
      columns.insert(columns.end(), headers.begin(), headers.end());
      Table table(columns);
      for (Row& row : report.rows) {
        row.insert(row.begin(), client.address());
        table.AddRow(row);
      }
      PrintOut(table.Render());
    }
    std::fputs(report.note.c_str(), stderr);
    return kExitOk;
  }

  std::vector<NodeReport> reports = RunAll(context, task);
  int worst = kExitOk;
  size_t failed = 0;
  for (const NodeReport& report : reports) {
    worst = std::max(worst, report.outcome.exit_code);
    if (!report.outcome.ok()) ++failed;
  }
  if (context.json) {
    std::string array = "[";
    for (size_t i = 0; i < reports.size(); ++i) {
      const NodeReport& report = reports[i];
      if (i != 0) array += ',';
      array +=
          JsonObject({{"addr", JsonString(context.addresses[i])},
                      {"ok", report.outcome.ok() ? "true" : "false"},
                      {"error", report.outcome.ok() ? "null" : JsonString(report.outcome.error)},
                      {"result", report.outcome.ok() ? report.json : "null"}});
    }
    PrintDocument(context, array + "]");
  } else {
    Row columns = {"ADDR"};
    columns.insert(columns.end(), headers.begin(), headers.end());
    Table table(columns);
    for (size_t i = 0; i < reports.size(); ++i) {
      if (!reports[i].outcome.ok()) {
        table.AddRow({context.addresses[i], "error: " + reports[i].outcome.error});
        continue;
      }
      for (Row row : reports[i].rows) {
        row.insert(row.begin(), context.addresses[i]);
        table.AddRow(std::move(row));
      }
    }
    PrintOut(table.Render());
  }
  for (const NodeReport& report : reports) {
    if (report.outcome.ok()) std::fputs(report.note.c_str(), stderr);
  }
  if (failed > 0) {
    PrintError(std::to_string(failed) + " of " + std::to_string(reports.size()) + " nodes failed");
  }
  return worst;
}

}  // namespace proxyctl
