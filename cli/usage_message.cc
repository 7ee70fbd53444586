#include "cli/usage_message.h"

#include <algorithm>

#include "cli/suggest.h"

namespace proxyctl {
std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (; app != nullptr; app = app->get_parent()) {
    path = app->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

// The deepest command the parse got into.
CLI::App* Deepest(CLI::App* app) {
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  return app;
}

namespace {

std::vector<std::string> SubcommandList(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

}  // namespace

namespace {

// "--addr", "--timeout", ...: the long flags `app` takes, its parents' included.
std::vector<std::string> LongFlags(const CLI::App* app) {
  std::vector<std::string> flags;
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
    }
  }
  return flags;
}

}  // namespace

// Every long flag of every command, for CanonicalFlagSpelling.
void CollectLongFlags(const CLI::App* app, std::vector<std::string>& flags) {
  for (const CLI::Option* option : app->get_options()) {
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  }
  for (const CLI::App* sub : app->get_subcommands({})) CollectLongFlags(sub, flags);
}

std::string SubcommandNames(const CLI::App* app) {
  std::string names;
  for (const CLI::App* sub : app->get_subcommands({})) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

namespace {

// Of the space-separated `words`, the one that comes first in `command_line`.
std::string FirstOnCommandLine(const std::string& words,
                               const std::vector<std::string>& command_line) {
  std::string first;
  size_t first_at = command_line.size();
  size_t start = 0;
  while (start < words.size()) {
    size_t end = words.find(' ', start);
    if (end == std::string::npos) end = words.size();
    const std::string word = words.substr(start, end - start);
    const size_t at = static_cast<size_t>(
        std::find(command_line.begin(), command_line.end(), word) - command_line.begin());
    if (first.empty() || at < first_at) {
      first = word;
      first_at = at;
    }
    start = end + 1;
  }
  return first;
}

}  // namespace

// One line for any parse error, naming the command and pointing at its --help.
std::string UsageMessage(const CLI::ParseError& error, CLI::App& root,
                         const std::vector<std::string>& command_line) {
  CLI::App* deepest = Deepest(&root);
  std::string path = CommandPath(deepest);
  std::string what = error.what();
  std::string message = what;
  // A required command that is missing because the word was not one of them reads better
  // as "unknown command".
  std::vector<std::string> leftover = root.remaining(true);
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !leftover.empty() &&
      !leftover.front().empty() && leftover.front()[0] != '-' &&
      !deepest->get_subcommands({}).empty()) {
    message = WithSuggestion("unknown command \"" + leftover.front() + "\" for '" + path + "'",
                             leftover.front(), SubcommandList(deepest)) +
              "; commands: " + SubcommandNames(deepest);
  } else if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    // "The following argument(s) was/were not expected: a b", not always in command-line
    // order: the one to name is the one that came first.
    std::string first = FirstOnCommandLine(what.substr(what.find(": ") + 2), command_line);
    bool has_subcommands = !deepest->get_subcommands({}).empty();
    if (!first.empty() && first[0] == '-') {
      const std::string name = first.substr(0, first.find('='));
      message =
          WithSuggestion("unknown flag " + name + " for '" + path + "'", name, LongFlags(deepest));
    } else if (has_subcommands) {
      message = WithSuggestion("unknown command \"" + first + "\" for '" + path + "'", first,
                               SubcommandList(deepest)) +
                "; commands: " + SubcommandNames(deepest);
    } else {
      message = "'" + path + "' does not take \"" + first + "\"";
    }
  } else if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr &&
             what.rfind("A subcommand", 0) == 0) {
    message = "'" + path + "' needs a command: " + SubcommandNames(deepest);
  }
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return message + " (see '" + path + " --help')";
}

}  // namespace proxyctl
