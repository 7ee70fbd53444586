#pragma once

// Translates between the public API's NodeConfig (proto) and the data plane's NodeConfig, and
// applies partial updates. Every result goes through ValidateConfig: a config is accepted
// whole or refused with INVALID_ARGUMENT naming the field, the value and the allowed range.

#include "absl/status/statusor.h"
#include "dataplane/config/config_snapshot.h"
#include "google/protobuf/field_mask.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

// Every field set, version included (a route's delay only when it overrides the node's).
v1::NodeConfig ToProto(const NodeConfig& config);

// Overlays the fields `update` has (proto presence) onto `base`: for config files, where
// what a file leaves out keeps its default (or its flag value). Routes count as present
// when the list is not empty.
absl::StatusOr<NodeConfig> MergePresentFields(const NodeConfig& base, const v1::NodeConfig& update);

// Overlays the fields named by `mask` onto `base`: for UpdateConfig. An empty mask, an
// unknown path or "version" is refused. The version is left as in `base`. "routes" replaces
// the whole list (an empty one clears it).
absl::StatusOr<NodeConfig> ApplyFieldMask(const NodeConfig& base, const v1::NodeConfig& update,
                                          const google::protobuf::FieldMask& mask);

// Parses a config file: protobuf text format, or JSON when the text starts with '{'.
absl::StatusOr<v1::NodeConfig> ParseConfigText(const std::string& text);

}  // namespace proxynode
