#include "controlplane/command_line.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace proxynode {
namespace {

absl::Status UsageError(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

// Edits (insert, delete, replace) from `a` to `b`.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean --workers?)" for a near miss among the registered flags, else "".
std::string Suggestion(std::string_view name) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& [known, flag] : absl::GetAllFlags()) {
    const size_t distance = EditDistance(name, std::string_view(known.data(), known.size()));
    if (distance < best_distance) {
      best = std::string_view(known.data(), known.size());
      best_distance = distance;
    }
  }
  return best.empty() ? "" : absl::StrCat(" (did you mean --", std::string(best), "?)");
}

// What a value of the flag's type looks like, for the error line.
std::string ExpectedValue(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<uint32_t>() || flag.IsOfType<uint64_t>()) return "a whole number >= 0";
  if (flag.IsOfType<absl::Duration>()) return "a duration like 250ms, 1.5s or 0s";
  return "a valid value";
}

// One argument that names a flag: "-name", "--name", either with "=value".
struct FlagArgument {
  std::string name;
  std::optional<std::string> value;
};

FlagArgument SplitFlag(std::string_view arg) {
  arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
  const size_t equals = arg.find('=');
  FlagArgument flag{std::string(arg.substr(0, equals)), std::nullopt};
  if (equals != std::string_view::npos) flag.value = std::string(arg.substr(equals + 1));
  return flag;
}

// Abseil's own flags, which ParseCommandLine handles itself (and which the flag registry does
// not list here).
bool IsUsageFlag(std::string_view name) {
  for (std::string_view usage : {"help", "helpfull", "helpshort", "helppackage", "helpon",
                                 "helpmatch", "version", "only_check_args"}) {
    if (name == usage) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckCommandLine(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      // Abseil takes what follows as arguments, which the node has none of.
      if (i + 1 < argc)
        return UsageError(absl::StrCat("unexpected argument \"", argv[i + 1], "\""));
      break;
    }
    if (arg.size() < 2 || !arg.starts_with('-')) {
      return UsageError(
          absl::StrCat("unexpected argument \"", std::string(arg), "\" (flags are --name=value)"));
    }
    FlagArgument given = SplitFlag(arg);
    if (IsUsageFlag(given.name)) {
      continue;  // --version, --help and friends: ParseCommandLine answers them and exits
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(given.name);
    if (flag == nullptr && given.name.starts_with("no")) {
      // --nocpu_local: the negative form of a boolean flag.
      absl::CommandLineFlag* positive = absl::FindCommandLineFlag(given.name.substr(2));
      if (positive != nullptr && positive->IsOfType<bool>()) {
        if (given.value) {
          return UsageError(absl::StrCat("--", given.name, " takes no value"));
        }
        continue;
      }
    }
    if (flag == nullptr || flag->IsRetired()) {
      return UsageError(absl::StrCat("unknown flag --", given.name, Suggestion(given.name)));
    }
    if (!given.value) {
      if (flag->IsOfType<bool>()) continue;  // --cpu_local alone is true
      if (i + 1 >= argc) {
        return UsageError(absl::StrCat("--", given.name, " needs a value: ", ExpectedValue(*flag)));
      }
      given.value = argv[++i];  // "--workers 4", as Abseil reads it
    }
    std::string error;
    if (!flag->ParseFrom(*given.value, &error)) {
      return UsageError(
          absl::StrCat("--", given.name, "=", *given.value, ": not ", ExpectedValue(*flag)));
    }
  }
  return absl::OkStatus();
}

}  // namespace proxynode
