#include "cli/suggest.h"

#include <algorithm>
#include <cctype>

namespace proxyctl {
namespace {

// Lower case, '_' as '-': the differences that never make another word.
std::string Folded(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Levenshtein distance with adjacent transpositions (the commonest typo, "conifg").
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string folded = Folded(word);
  const size_t allowed = std::max<size_t>(1, folded.size() / 3);
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    const std::string other = Folded(candidate);
    size_t distance = EditDistance(folded, other);
    // A prefix of a long name ("conn" for "connections") is a likely abbreviation.
    if (folded.size() >= 3 && other.rfind(folded, 0) == 0) distance = std::min<size_t>(distance, 1);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates) {
  const std::string match = ClosestMatch(word, candidates);
  if (match.empty()) return message;
  return message + "; did you mean \"" + match + "\"?";
}

std::string CanonicalFlagSpelling(const std::string& arg, const std::vector<std::string>& known) {
  if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) return arg;
  const size_t equals = arg.find('=');
  const std::string name = arg.substr(0, equals);
  if (std::find(known.begin(), known.end(), name) != known.end()) return arg;
  std::string folded = name;
  std::replace(folded.begin() + 2, folded.end(), '_', '-');
  for (const std::string& flag : known) {
    std::string other = flag;
    std::replace(other.begin() + 2, other.end(), '_', '-');
    if (other == folded) {
      return equals == std::string::npos ? flag : flag + arg.substr(equals);
    }
  }
  return arg;
}

}  // namespace proxyctl
