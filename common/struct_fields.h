#pragma once

// The entries of a google.protobuf.Struct (a JSON object), read through reflection. Under
// ThreadSanitizer, protobuf's inline Map code and Debian's uninstrumented library disagree on
// the map's layout (iterating `fields()` crashed), so the map is only touched by the
// library's own code.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"

namespace proxynode {

// How many entries `object` has.
inline int StructSize(const google::protobuf::Struct& object) {
  return object.GetReflection()->FieldSize(object,
                                           object.GetDescriptor()->FindFieldByName("fields"));
}

// Key and value of every entry, in the map's order; the values stay owned by `object`.
inline std::vector<std::pair<std::string, google::protobuf::Value*>> StructEntries(
    google::protobuf::Struct& object) {
  std::vector<std::pair<std::string, google::protobuf::Value*>> entries;
  const google::protobuf::FieldDescriptor* field =
      object.GetDescriptor()->FindFieldByName("fields");
  const google::protobuf::Reflection* reflection = object.GetReflection();
  for (int i = 0; i < reflection->FieldSize(object, field); ++i) {
    google::protobuf::Message* entry = reflection->MutableRepeatedMessage(&object, field, i);
    const google::protobuf::Descriptor* type = entry->GetDescriptor();
    entries.emplace_back(entry->GetReflection()->GetString(*entry, type->map_key()),
                         static_cast<google::protobuf::Value*>(
                             entry->GetReflection()->MutableMessage(entry, type->map_value())));
  }
  return entries;
}

// The value of `key` in `object`, owned by `object`; null when it has none.
inline const google::protobuf::Value* StructField(const google::protobuf::Struct& object,
                                                  std::string_view key) {
  const google::protobuf::FieldDescriptor* field =
      object.GetDescriptor()->FindFieldByName("fields");
  const google::protobuf::Reflection* reflection = object.GetReflection();
  for (int i = 0; i < reflection->FieldSize(object, field); ++i) {
    const google::protobuf::Message& entry = reflection->GetRepeatedMessage(object, field, i);
    const google::protobuf::Descriptor* type = entry.GetDescriptor();
    if (entry.GetReflection()->GetString(entry, type->map_key()) == key) {
      return static_cast<const google::protobuf::Value*>(
          &entry.GetReflection()->GetMessage(entry, type->map_value()));
    }
  }
  return nullptr;
}

}  // namespace proxynode
