#include "tests/cli/json_check.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "gtest/gtest.h"

namespace proxynode::testing {
namespace {

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  // The value, if `text` is exactly one JSON value (surrounding whitespace allowed).
  std::optional<Json> Parse() {
    Json value;
    if (!Value(value)) return std::nullopt;
    SkipSpace();
    if (at_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void SkipSpace() {
    while (at_ < text_.size() && std::strchr(" \t\r\n", text_[at_]) != nullptr) ++at_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }
  bool String(std::string& out) {
    if (!Eat('"')) return false;
    while (at_ < text_.size()) {
      char c = text_[at_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // control characters: escaped
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) return false;
      char e = text_[at_++];
      static constexpr std::string_view kSimple = "\"\\/bfnrt";
      static constexpr std::string_view kMeaning = "\"\\/\b\f\n\r\t";
      if (size_t i = kSimple.find(e); i != std::string_view::npos) {
        out += kMeaning[i];
      } else if (e == 'u' && at_ + 4 <= text_.size() &&
                 std::all_of(text_.begin() + static_cast<ptrdiff_t>(at_),
                             text_.begin() + static_cast<ptrdiff_t>(at_ + 4),
                             [](char h) { return std::isxdigit(static_cast<unsigned char>(h)); })) {
        out += '?';  // the tests compare no escaped non-ASCII text
        at_ += 4;
      } else {
        return false;
      }
    }
    return false;
  }
  bool Number(double& out) {
    size_t start = at_;
    auto digits = [this] {
      size_t from = at_;
      while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) ++at_;
      return at_ > from;
    };
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    if (at_ < text_.size() && text_[at_] == '0') {
      ++at_;
    } else if (!digits()) {
      return false;
    }
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      if (!digits()) return false;
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (!digits()) return false;
    }
    out = std::stod(std::string(text_.substr(start, at_ - start)));
    return true;
  }
  bool Value(Json& out) {
    SkipSpace();
    if (at_ >= text_.size()) return false;
    char c = text_[at_];
    if (c == '{') {
      ++at_;
      out.kind = Json::Kind::kObject;
      if (Eat('}')) return true;
      do {
        std::string name;
        Json member;
        if (!String(name) || !Eat(':') || !Value(member)) return false;
        if (!out.members.emplace(name, std::move(member)).second) return false;  // duplicate
      } while (Eat(','));
      return Eat('}');
    }
    if (c == '[') {
      ++at_;
      out.kind = Json::Kind::kArray;
      if (Eat(']')) return true;
      do {
        out.items.emplace_back();
        if (!Value(out.items.back())) return false;
      } while (Eat(','));
      return Eat(']');
    }
    if (c == '"') {
      out.kind = Json::Kind::kString;
      return String(out.text);
    }
    if (Literal("true") || Literal("false")) {
      out.kind = Json::Kind::kBool;
      out.boolean = text_[at_ - 1] == 'e' && text_[at_ - 4] == 't';
      return true;
    }
    if (Literal("null")) return true;
    out.kind = Json::Kind::kNumber;
    return Number(out.number);
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

std::optional<Json> ParseJsonText(std::string_view text) { return JsonParser(text).Parse(); }

std::optional<Json> ParseJson(const std::string& text) {
  std::optional<Json> value = ParseJsonText(text);
  if (!value) ADD_FAILURE() << "not JSON: " << text;
  return value;
}

const Json& Field(const Json& object, const std::string& name) {
  static const Json kMissing;
  auto it = object.members.find(name);
  if (it == object.members.end()) {
    ADD_FAILURE() << "no field " << name;
    return kMissing;
  }
  return it->second;
}

double Number(const Json& value) {
  return value.is_string() ? std::stod(value.text) : value.number;
}

}  // namespace proxynode::testing
