#include "cli/printer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "google/protobuf/util/json_util.h"

namespace proxyctl {
namespace {

constexpr size_t kGap = 3;

// Columns count characters, not bytes: UTF-8 continuation bytes take no column.
size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

}  // namespace

std::string Table::Render() const {
  // A cell widens its column only if another cell follows it in its row, or the row is
  // complete (so a spanning error message does not push every other row apart).
  std::vector<size_t> widths(headers_.size(), 0);
  auto measure = [&widths](const Row& row, size_t columns) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      bool spanning = i + 1 == row.size() && row.size() < columns;
      if (!spanning) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  };
  measure(headers_, headers_.size());
  for (const Row& row : rows_) measure(row, headers_.size());

  std::string out;
  auto render = [&](const Row& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        size_t width = i < widths.size() ? widths[i] : 0;
        line.append(width - std::min(width, DisplayWidth(row[i])) + kGap, ' ');
      }
    }
    // An empty last cell would leave the padding of the one before it.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  render(headers_);
  for (const Row& row : rows_) render(row);
  return out;
}

namespace {

std::string PrintJson(const google::protobuf::Message& message, bool every_field) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = every_field;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    // Only an invalid Duration or Timestamp from the node can get here.
    return "null";
  }
  return json;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) { return PrintJson(message, true); }

std::string ToJsonPresentFields(const google::protobuf::Message& message) {
  return PrintJson(message, false);
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "{";
  for (const auto& [name, value] : members) {
    if (out.size() > 1) out += ",";
    out += JsonString(name) + ":" + value;
  }
  return out + "}";
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.15g", value);
  return buffer;
}

}  // namespace proxyctl
