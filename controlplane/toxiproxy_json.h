#pragma once

// JSON for the Toxiproxy-compatible API (toxiproxy_api.h). Request bodies are read into a
// google.protobuf.Value with protobuf's parser; object members are looked up through
// reflection (common/struct_fields.h: iterating Struct's map crashes under ThreadSanitizer).
// Answers are written by hand, which keeps Toxiproxy's shapes and number formats exact.
//
// Errors are INVALID_ARGUMENT with Toxiproxy's prefix, "bad request body: ...", since that is
// what its clients show their users.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

namespace proxynode::toxiproxy {

// `body` as one JSON value of any kind (an object, an array...).
absl::StatusOr<google::protobuf::Value> ParseJson(std::string_view body);

// The object `value` holds; `what` names it in the error ("the body", "proxy 2").
absl::StatusOr<const google::protobuf::Struct*> AsObject(const google::protobuf::Value& value,
                                                         std::string_view what);

// A member of `object` by type. nullopt when `object` lacks `key` or holds null there (Go's
// decoder then leaves the field as it was); an error when it holds another JSON type.
absl::StatusOr<std::optional<std::string>> StringMember(const google::protobuf::Struct& object,
                                                        std::string_view key);
absl::StatusOr<std::optional<bool>> BoolMember(const google::protobuf::Struct& object,
                                               std::string_view key);
absl::StatusOr<std::optional<double>> NumberMember(const google::protobuf::Struct& object,
                                                   std::string_view key);
// A whole number (Toxiproxy's attributes are Go integers: 1.5 is refused), at most 2^53 in
// magnitude, where a JSON number stops being exact as a double.
absl::StatusOr<std::optional<int64_t>> IntegerMember(const google::protobuf::Struct& object,
                                                     std::string_view key);

// `text` as a JSON string, quotes included.
std::string Quoted(std::string_view text);

// `value` as Go prints a float32 (Toxiproxy's toxicity): the shortest digits that read back
// to the same float32, so 0.3 prints as 0.3 and 1 as 1.
std::string Float32(double value);

// An error body: {"error":"...","status":N}.
std::string ErrorJson(std::string_view message, int status);

}  // namespace proxynode::toxiproxy
