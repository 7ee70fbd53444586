#include "controlplane/toxiproxy_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/struct_fields.h"
#include "google/protobuf/util/json_util.h"

namespace proxynode::toxiproxy {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status BadBody(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("bad request body: ", std::string(what)));
}

std::string_view KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "an array";
    case Value::KIND_NOT_SET:
      break;
  }
  return "nothing";
}

// The member `key` when it is there and not null.
const Value* Present(const Struct& object, std::string_view key) {
  const Value* value = StructField(object, key);
  return value == nullptr || value->has_null_value() ? nullptr : value;
}

absl::Status WrongKind(std::string_view key, std::string_view wanted, const Value& value) {
  return BadBody(absl::StrCat(std::string(key), ": want ", std::string(wanted), ", got ",
                              std::string(KindName(value))));
}

}  // namespace

absl::StatusOr<Value> ParseJson(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return BadBody("EOF");  // Go's decoder on an empty body, word for word
  }
  Value value;
  google::protobuf::util::Status parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &value);
  if (!parsed.ok()) {
    return BadBody(std::string(parsed.message()));
  }
  return value;
}

absl::StatusOr<const Struct*> AsObject(const Value& value, std::string_view what) {
  if (!value.has_struct_value()) {
    return BadBody(
        absl::StrCat(std::string(what), ": want an object, got ", std::string(KindName(value))));
  }
  return &value.struct_value();
}

absl::StatusOr<std::optional<std::string>> StringMember(const Struct& object,
                                                        std::string_view key) {
  const Value* value = Present(object, key);
  if (value == nullptr) {
    return std::optional<std::string>();
  }
  if (!value->has_string_value()) {
    return WrongKind(key, "a string", *value);
  }
  return std::optional<std::string>(value->string_value());
}

absl::StatusOr<std::optional<bool>> BoolMember(const Struct& object, std::string_view key) {
  const Value* value = Present(object, key);
  if (value == nullptr) {
    return std::optional<bool>();
  }
  if (!value->has_bool_value()) {
    return WrongKind(key, "a boolean", *value);
  }
  return std::optional<bool>(value->bool_value());
}

absl::StatusOr<std::optional<double>> NumberMember(const Struct& object, std::string_view key) {
  const Value* value = Present(object, key);
  if (value == nullptr) {
    return std::optional<double>();
  }
  if (!value->has_number_value()) {
    return WrongKind(key, "a number", *value);
  }
  return std::optional<double>(value->number_value());
}

absl::StatusOr<std::optional<int64_t>> IntegerMember(const Struct& object, std::string_view key) {
  absl::StatusOr<std::optional<double>> number = NumberMember(object, key);
  if (!number.ok()) {
    return number.status();
  }
  if (!number->has_value()) {
    return std::optional<int64_t>();
  }
  constexpr double kExactLimit = 9007199254740992.0;  // 2^53
  const double whole = **number;
  if (std::trunc(whole) != whole || std::fabs(whole) > kExactLimit) {
    return BadBody(absl::StrCat(std::string(key), ": ", whole, " is not a whole number"));
  }
  return std::optional<int64_t>(static_cast<int64_t>(whole));
}

std::string Quoted(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          quoted += escaped;
        } else {
          quoted += c;
        }
    }
  }
  quoted += '"';
  return quoted;
}

std::string Float32(double value) {
  const auto single = static_cast<float>(value);
  char digits[64];
  // Go switches to exponent form below 1e-6 and from 1e21; fixed otherwise.
  const float magnitude = std::fabs(single);
  const bool exponent = magnitude != 0 && (magnitude < 1e-6F || magnitude >= 1e21F);
  const std::to_chars_result written =
      std::to_chars(digits, digits + sizeof(digits), single,
                    exponent ? std::chars_format::scientific : std::chars_format::fixed);
  return std::string(digits, written.ptr);
}

std::string ErrorJson(std::string_view message, int status) {
  return absl::StrCat("{\"error\":", Quoted(message), ",\"status\":", status, "}");
}

}  // namespace proxynode::toxiproxy
