#include "controlplane/config_diff.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "controlplane/json_log.h"
#include "dataplane/config/config_snapshot.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace proxynode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A body can be 1 MiB; a diff line shows the start of a long string and its size.
constexpr size_t kValueLimit = 160;

std::string Cut(std::string text) {
  if (text.size() <= kValueLimit) {
    return text;
  }
  const size_t size = text.size();
  text.resize(kValueLimit);
  return absl::StrCat(text, "... (", size, " characters in all)");
}

std::string RenderMessage(const Message& message);

bool IsDuration(const Descriptor* type) {
  return type->full_name() == google::protobuf::Duration::descriptor()->full_name();
}
bool IsTimestamp(const Descriptor* type) {
  return type->full_name() == google::protobuf::Timestamp::descriptor()->full_name();
}

std::string RenderDuration(const Message& message) {
  google::protobuf::Duration duration;
  duration.CopyFrom(message);
  const Nanos nanos = duration.seconds() * kSecond + duration.nanos();
  return nanos == 0 ? "0s" : FormatDuration(nanos);  // as proxyctl writes it
}

std::string RenderTimestamp(const Message& message) {
  google::protobuf::Timestamp stamp;
  stamp.CopyFrom(message);
  const absl::Time time = absl::FromUnixSeconds(stamp.seconds()) + absl::Nanoseconds(stamp.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

std::string RenderNested(const Message& message) {
  const Descriptor* type = message.GetDescriptor();
  if (IsDuration(type)) {
    return RenderDuration(message);
  }
  if (IsTimestamp(type)) {
    return RenderTimestamp(message);
  }
  return RenderMessage(message);
}

// One value of `field`: element `index` when the field is repeated.
std::string RenderValue(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string text = repeated ? reflection->GetRepeatedString(message, field, index)
                                        : reflection->GetString(message, field);
      return Cut(absl::StrCat("\"", absl::CEscape(text), "\""));
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? reflection->GetRepeatedBool(message, field, index)
                       : reflection->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return repeated ? reflection->GetRepeatedEnum(message, field, index)->name()
                      : reflection->GetEnum(message, field)->name();
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt32(message, field, index)
                                   : reflection->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt64(message, field, index)
                                   : reflection->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt32(message, field, index)
                                   : reflection->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                                   : reflection->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(repeated ? reflection->GetRepeatedDouble(message, field, index)
                                   : reflection->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(repeated ? reflection->GetRepeatedFloat(message, field, index)
                                   : reflection->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return RenderNested(repeated ? reflection->GetRepeatedMessage(message, field, index)
                                   : reflection->GetMessage(message, field));
  }
  return "";
}

std::string RenderField(const Message& message, const FieldDescriptor* field) {
  if (!field->is_repeated()) {
    return RenderValue(message, field, 0);
  }
  std::vector<std::string> values;
  const int size = message.GetReflection()->FieldSize(message, field);
  for (int i = 0; i < size; ++i) {
    values.push_back(RenderValue(message, field, i));
  }
  return absl::StrCat("[", absl::StrJoin(values, ", "), "]");
}

// "{prefix: \"/api/\", action: PROXY}": the fields that are set.
std::string RenderMessage(const Message& message) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  std::vector<std::string> parts;
  for (const FieldDescriptor* field : fields) {
    parts.push_back(absl::StrCat(field->name(), ": ", RenderField(message, field)));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

// The string field that names an entry of a list of `type`, or nullptr.
const FieldDescriptor* KeyField(const Descriptor* type) {
  for (const char* name : {"name", "prefix"}) {
    const FieldDescriptor* field = type->FindFieldByName(name);
    if (field != nullptr && !field->is_repeated() &&
        field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      return field;
    }
  }
  return nullptr;
}

class Differ {
 public:
  explicit Differ(std::vector<v1::ConfigFieldChange>& out) : out_(out) {}

  void Messages(const Message& before, const Message& after, const std::string& path) {
    const Descriptor* type = before.GetDescriptor();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (path.empty() && field->name() == "version") {
        continue;
      }
      const std::string name =
          path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
      if (field->is_repeated()) {
        Repeated(before, after, field, name);
      } else {
        Singular(before, after, field, name);
      }
    }
  }

 private:
  void Add(const std::string& field, std::string before, std::string after) {
    v1::ConfigFieldChange& change = out_.emplace_back();
    change.set_field(field);
    change.set_before(std::move(before));
    change.set_after(std::move(after));
  }

  void Singular(const Message& before, const Message& after, const FieldDescriptor* field,
                const std::string& name) {
    const Reflection* reflection = before.GetReflection();
    const bool has_before = !field->has_presence() || reflection->HasField(before, field);
    const bool has_after = !field->has_presence() || reflection->HasField(after, field);
    if (!has_before && !has_after) {
      return;
    }
    const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                        !IsDuration(field->message_type()) && !IsTimestamp(field->message_type());
    if (nested && has_before && has_after) {
      Messages(reflection->GetMessage(before, field), reflection->GetMessage(after, field), name);
      return;
    }
    std::string was = has_before ? RenderValue(before, field, 0) : "";
    std::string now = has_after ? RenderValue(after, field, 0) : "";
    if (was != now || has_before != has_after) {
      Add(name, std::move(was), std::move(now));
    }
  }

  void Repeated(const Message& before, const Message& after, const FieldDescriptor* field,
                const std::string& name) {
    const FieldDescriptor* key =
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_map()
            ? KeyField(field->message_type())
            : nullptr;
    if (key != nullptr && Keyed(before, after, field, key, name)) {
      return;
    }
    std::string was = RenderField(before, field);
    std::string now = RenderField(after, field);
    if (was != now) {
      Add(name, std::move(was), std::move(now));
    }
  }

  // The entries' keys in list order; false when two entries share one (then the list is
  // compared whole).
  static bool Keys(const Message& message, const FieldDescriptor* field, const FieldDescriptor* key,
                   std::vector<std::string>& keys) {
    const Reflection* reflection = message.GetReflection();
    std::set<std::string> seen;
    for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
      const Message& entry = reflection->GetRepeatedMessage(message, field, i);
      keys.push_back(entry.GetReflection()->GetString(entry, key));
      if (!seen.insert(keys.back()).second) {
        return false;
      }
    }
    return true;
  }

  bool Keyed(const Message& before, const Message& after, const FieldDescriptor* field,
             const FieldDescriptor* key, const std::string& name) {
    std::vector<std::string> was;
    std::vector<std::string> now;
    if (!Keys(before, field, key, was) || !Keys(after, field, key, now)) {
      return false;
    }
    const Reflection* reflection = before.GetReflection();
    const auto index_of = [](const std::vector<std::string>& keys, const std::string& wanted) {
      return static_cast<int>(std::find(keys.begin(), keys.end(), wanted) - keys.begin());
    };
    const auto entry_path = [&name](const std::string& entry_key) {
      return absl::StrCat(name, "[", entry_key, "]");
    };
    for (size_t i = 0; i < was.size(); ++i) {
      if (index_of(now, was[i]) == static_cast<int>(now.size())) {
        Add(entry_path(was[i]),
            RenderMessage(reflection->GetRepeatedMessage(before, field, static_cast<int>(i))), "");
      }
    }
    for (size_t i = 0; i < now.size(); ++i) {
      const Message& entry = reflection->GetRepeatedMessage(after, field, static_cast<int>(i));
      const int old_index = index_of(was, now[i]);
      if (old_index == static_cast<int>(was.size())) {
        Add(entry_path(now[i]), "", RenderMessage(entry));
      } else {
        Messages(reflection->GetRepeatedMessage(before, field, old_index), entry,
                 entry_path(now[i]));
      }
    }
    // Fault rules are tried in order: a new order of the same entries is a change.
    std::vector<std::string> kept_was;
    std::vector<std::string> kept_now;
    for (const std::string& k : was) {
      if (index_of(now, k) != static_cast<int>(now.size())) kept_was.push_back(k);
    }
    for (const std::string& k : now) {
      if (index_of(was, k) != static_cast<int>(was.size())) kept_now.push_back(k);
    }
    if (kept_was != kept_now) {
      Add(absl::StrCat(name, " (order)"), absl::StrJoin(kept_was, ", "),
          absl::StrJoin(kept_now, ", "));
    }
    return true;
  }

  std::vector<v1::ConfigFieldChange>& out_;
};

}  // namespace

std::vector<v1::ConfigFieldChange> DiffConfigs(const v1::NodeConfig& before,
                                               const v1::NodeConfig& after) {
  std::vector<v1::ConfigFieldChange> diff;
  Differ(diff).Messages(before, after, "");
  return diff;
}

std::string DiffToJson(const std::vector<v1::ConfigFieldChange>& diff) {
  std::string out = "[";
  for (const v1::ConfigFieldChange& change : diff) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "{\"field\":");
    AppendJsonString(out, change.field());
    out += ",\"before\":";
    AppendJsonString(out, change.before());
    out += ",\"after\":";
    AppendJsonString(out, change.after());
    out += "}";
  }
  return out + "]";
}

}  // namespace proxynode
