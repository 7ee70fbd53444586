#pragma once

// "did you mean" for mistyped commands, keys and flags, and flag names spelled with '_' or
// '-' alike. Pure: unit-tested.

#include <string>
#include <string_view>
#include <vector>

namespace proxyctl {

// The candidate closest to `word` by edit distance, when it is close enough to be a likely
// typo (at most 1 edit for short words, about a third of the word for longer ones, ignoring
// case and '-' against '_'); "" when none is.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// `message` + "; did you mean \"X\"?" when ClosestMatch finds X.
std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates);

// A long flag ("--tls-ca", "--expected_version=3") rewritten to the spelling of the known
// flag it names when it differs only by '-' against '_' in its name; anything else as it is.
std::string CanonicalFlagSpelling(const std::string& arg, const std::vector<std::string>& known);

}  // namespace proxyctl
