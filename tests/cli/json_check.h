#pragma once

// Checks that proxyctl's -o json output is JSON and reads it, with a small strict parser of
// the tests' own.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace proxynode::testing {

// A parsed JSON value, from a small strict parser of its own (RFC 8259 grammar; numbers as
// doubles), so the check that proxyctl prints valid JSON does not rest on the protobuf
// library proxyctl printed it with.
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  bool is_null() const { return kind == Kind::kNull; }
  bool is_string() const { return kind == Kind::kString; }
};

// The value, if `text` is exactly one JSON value (surrounding whitespace allowed).
std::optional<Json> ParseJsonText(std::string_view text);

// The same, as a test failure ("not JSON: ...") when it is not.
std::optional<Json> ParseJson(const std::string& text);

// `object`'s member `name`; a test failure (and a null) when it has none.
const Json& Field(const Json& object, const std::string& name);

// proto3 JSON prints 64-bit integers as strings, 32-bit as numbers.
double Number(const Json& value);

}  // namespace proxynode::testing
