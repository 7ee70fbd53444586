#pragma once

// Output: aligned tables (kubectl style: upper-case headers, columns padded to the widest
// cell, three spaces apart, no trailing blanks) and JSON (the protobuf printer, so field
// names are the proto's and stay stable).

#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"

namespace proxyctl {

using Row = std::vector<std::string>;

class Table {
 public:
  explicit Table(Row headers) : headers_(std::move(headers)) {}

  // A row with fewer cells than headers is fine; its last cell may run past its column
  // (used for an error message spanning the rest of the row).
  void AddRow(Row row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }

  // Every line ends with '\n'. A cell that is the last of its row is not padded, and a
  // spanning last cell does not widen its column.
  std::string Render() const;

 private:
  Row headers_;
  std::vector<Row> rows_;
};

// Proto3 JSON with the proto's field names and every field printed (zeros included), on
// one line: machine-readable with a stable shape.
std::string ToJson(const google::protobuf::Message& message);

// The same, but only the fields the message has: for a view of some fields, where an empty
// list (e.g. routes) must not show up as if it were asked for.
std::string ToJsonPresentFields(const google::protobuf::Message& message);

// A JSON string literal.
std::string JsonString(std::string_view text);

// A JSON object from already-encoded members, in order: {"a": 1, "b": {...}}.
std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& members);

// A JSON number; NaN and infinities (not JSON) become null.
std::string JsonNumber(double value);

}  // namespace proxyctl
