#include "cli/yaml_output.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cli/printer.h"
#include "common/struct_fields.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace proxyctl {
namespace {

using google::protobuf::Value;
using proxynode::StructEntries;
using proxynode::StructSize;

std::string Scalar(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case Value::kNumberValue: {
      const double number = value.number_value();
      char text[32];
      if (std::floor(number) == number && std::fabs(number) < 9e15) {
        std::snprintf(text, sizeof(text), "%.0f", number);
      } else {
        // The shortest form that reads back as the same number.
        std::snprintf(text, sizeof(text), "%.15g", number);
        if (std::strtod(text, nullptr) != number) {
          std::snprintf(text, sizeof(text), "%.17g", number);
        }
      }
      return text;
    }
    case Value::kStringValue:
      return JsonString(value.string_value());  // JSON's escapes are YAML's too
    default:
      return "";
  }
}

// A plain key (the proto's field names) as it is; anything else quoted.
std::string Key(const std::string& key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return plain ? key : JsonString(key);
}

bool IsEmptyCollection(const Value& value) {
  return (value.has_struct_value() && StructSize(value.struct_value()) == 0) ||
         (value.has_list_value() && value.list_value().values().empty());
}

bool IsCollection(const Value& value) {
  return (value.has_struct_value() || value.has_list_value()) && !IsEmptyCollection(value);
}

std::string Inline(const Value& value) {
  if (IsEmptyCollection(value)) return value.has_struct_value() ? "{}" : "[]";
  return Scalar(value);
}

void Emit(Value& value, size_t indent, std::string& out);

void EmitStruct(google::protobuf::Struct& object, size_t indent, std::string& out) {
  std::vector<std::pair<std::string, Value*>> entries = StructEntries(object);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [key, entry] : entries) {
    Value& value = *entry;
    out += std::string(indent, ' ') + Key(key) + ":";
    if (IsCollection(value)) {
      out += "\n";
      Emit(value, indent + 2, out);
    } else {
      // Appended piece by piece: `" " + std::string` trips GCC 12's -Wrestrict at -O3 (bug 105329).
      out += ' ';
      out += Inline(value);
      out += '\n';
    }
  }
}

void EmitList(google::protobuf::ListValue& list, size_t indent, std::string& out) {
  for (Value& item : *list.mutable_values()) {
    if (item.has_struct_value() && !IsEmptyCollection(item)) {
      // "- first: 1\n  second: 2": the item's first line shares the dash.
      std::string nested;
      EmitStruct(*item.mutable_struct_value(), indent + 2, nested);
      out += std::string(indent, ' ') + "-" + nested.substr(indent + 1);
    } else if (IsCollection(item)) {
      out += std::string(indent, ' ') + "-\n";
      Emit(item, indent + 2, out);
    } else {
      out += std::string(indent, ' ') + "- " + Inline(item) + "\n";
    }
  }
}

void Emit(Value& value, size_t indent, std::string& out) {
  if (value.has_struct_value() && !IsEmptyCollection(value)) {
    EmitStruct(*value.mutable_struct_value(), indent, out);
  } else if (value.has_list_value() && !IsEmptyCollection(value)) {
    EmitList(*value.mutable_list_value(), indent, out);
  } else {
    out += std::string(indent, ' ') + Inline(value) + "\n";
  }
}

}  // namespace

std::optional<std::string> JsonToYaml(const std::string& json) {
  Value document;
  if (!google::protobuf::util::JsonStringToMessage(json, &document).ok()) return std::nullopt;
  std::string out;
  Emit(document, 0, out);
  return out;
}

}  // namespace proxyctl
