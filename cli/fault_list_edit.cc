#include "cli/fault_list_edit.h"

#include <algorithm>
#include <set>

namespace proxyctl {
namespace {

using proxynode::v1::FaultRule;

int IndexOf(const FaultRules& rules, const std::string& name) {
  for (int i = 0; i < rules.size(); ++i) {
    if (rules.Get(i).name() == name) return i;
  }
  return -1;
}

}  // namespace

absl::Status PutFaultRule(FaultRules& rules, const FaultRule& rule, bool replace, bool* replaced) {
  const int at = IndexOf(rules, rule.name());
  *replaced = at >= 0;
  if (at < 0) {
    *rules.Add() = rule;
    return absl::OkStatus();
  }
  if (!replace) {
    return absl::AlreadyExistsError("a fault rule named \"" + rule.name() +
                                    "\" exists; --replace replaces it, or remove it first");
  }
  *rules.Mutable(at) = rule;
  return absl::OkStatus();
}

absl::Status RemoveFaultRules(FaultRules& rules, const std::vector<std::string>& names) {
  const std::set<std::string> doomed(names.begin(), names.end());
  std::string unknown;
  for (const std::string& name : names) {
    if (IndexOf(rules, name) < 0 && unknown.find("\"" + name + "\"") == std::string::npos) {
      unknown += (unknown.empty() ? "\"" : ", \"") + name + "\"";
    }
  }
  if (!unknown.empty()) {
    return absl::NotFoundError("no fault rule named " + unknown +
                               "; rules: " + FaultRuleNames(rules));
  }
  auto end = std::remove_if(rules.begin(), rules.end(), [&doomed](const FaultRule& rule) {
    return doomed.count(rule.name()) != 0;
  });
  rules.erase(end, rules.end());
  return absl::OkStatus();
}

std::string FaultRuleNames(const FaultRules& rules) {
  std::string names;
  for (const FaultRule& rule : rules) names += (names.empty() ? "" : ", ") + rule.name();
  return names.empty() ? "none" : names;
}

}  // namespace proxyctl
