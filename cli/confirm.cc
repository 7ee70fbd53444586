#include "cli/confirm.h"

#include <cctype>

#include "cli/exit_codes.h"

namespace proxyctl {
namespace {

std::string Joined(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& address : addresses) out += (out.empty() ? "" : ", ") + address;
  return out;
}

}  // namespace

std::string DescribeRisk(const std::string& risk, bool changes,
                         const std::vector<std::string>& addresses) {
  const std::string nodes = addresses.size() == 1 ? addresses.front()
                                                  : std::to_string(addresses.size()) + " nodes (" +
                                                        Joined(addresses) + ")";
  if (!risk.empty()) return risk + " " + nodes;
  if (changes && addresses.size() > 1) return "change " + nodes;
  return "";
}

Outcome Confirm(const std::string& what, bool yes, bool interactive, std::istream& in,
                std::ostream& out) {
  if (what.empty() || yes) return Outcome{};
  if (!interactive) {
    return Outcome::Failure(kExitUsage,
                            "this would " + what + "; pass --yes to confirm (nothing was sent)");
  }
  out << "proxyctl: this will " << what << ". Proceed? [y/N] " << std::flush;
  std::string answer;
  std::getline(in, answer);
  for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (answer == "y" || answer == "yes") return Outcome{};
  return Outcome::Failure(kExitUsage, "not confirmed; nothing was sent");
}

}  // namespace proxyctl
