#include "cli/update_report.h"

#include "cli/printer.h"
#include "cli/stats_view.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using proxynode::v1::ConfigFieldChange;
using proxynode::v1::UpdateConfigResponse;

std::string DiffLine(const ConfigFieldChange& change) {
  if (change.before().empty()) {
    return "+ " + change.field() + ": " + change.after();
  }
  if (change.after().empty()) {
    return "- " + change.field() + ": " + change.before();
  }
  return change.field() + ": " + change.before() + " -> " + change.after();
}

}  // namespace

std::string WatchedFileNote(const std::string& address, const std::string& path) {
  if (path.empty()) return "";
  return "note: " + address + " takes its config from the watched file " + path +
         ": its next change replaces what is set by other means\n";
}

Row UpdateReportHeaders() { return {"RESULT", "VERSION", "APPLY_TIME", "CHANGES"}; }

std::string DiffLines(const google::protobuf::RepeatedPtrField<ConfigFieldChange>& diff) {
  std::string out;
  for (const ConfigFieldChange& change : diff) out += "  " + DiffLine(change) + "\n";
  return out;
}

bool DiffTouches(const UpdateConfigResponse& response, std::string_view field) {
  for (const ConfigFieldChange& change : response.diff()) {
    if (change.field() == field) return true;
  }
  return false;
}

std::string DiffCell(const google::protobuf::RepeatedPtrField<ConfigFieldChange>& diff) {
  std::string out;
  for (const ConfigFieldChange& change : diff) {
    out += (out.empty() ? "" : "; ") + DiffLine(change);
  }
  return out.empty() ? "none" : out;
}

NodeReport UpdateReport(const std::string& address, const UpdateConfigResponse& response,
                        std::string_view verb) {
  NodeReport report;
  const std::string version = std::to_string(response.config().version());
  const std::string apply_time = FormatDurationApprox(ToNanos(response.apply_time()));
  if (response.dry_run()) {
    report.rows.push_back({"dry run", version, "-", DiffCell(response.diff())});
    report.text =
        response.unchanged()
            ? "dry run on " + address + ": at config version " + version + " this changes nothing\n"
            : "dry run on " + address + ": at config version " + version + " this would change:\n" +
                  DiffLines(response.diff());
  } else if (response.unchanged()) {
    report.rows.push_back({"unchanged", version, "-", "none"});
    report.text =
        "unchanged on " + address + ": config version " + version + " already is what was asked\n";
  } else {
    report.rows.push_back({std::string(verb), version, apply_time, DiffCell(response.diff())});
    report.text = std::string(verb) + " on " + address + ": config version " + version + " in " +
                  apply_time + "\n" + DiffLines(response.diff());
  }
  report.note = WatchedFileNote(address, response.watched_config_file());
  report.json = ToJson(response);
  return report;
}

}  // namespace proxyctl
