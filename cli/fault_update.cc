#include "cli/fault_update.h"

#include "google/protobuf/util/message_differencer.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;

bool SameRules(const FaultRules& a, const FaultRules& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(a.Get(i), b.Get(i))) return false;
  }
  return true;
}

// One attempt on the config read: edit, then send unless nothing changed.
Outcome Attempt(NodeClient& client, uint64_t expected_version, const FaultEdit& edit,
                FaultUpdate* update) {
  FaultRules rules = update->read.faults();
  if (absl::Status edited = edit(rules); !edited.ok()) {
    return Outcome::Failure(kExitRefused, std::string(edited.message()));
  }
  if (SameRules(rules, update->read.faults())) {
    update->applied = update->read;
    update->changed = false;
    return Outcome{};
  }
  proxynode::v1::UpdateConfigRequest request;
  *request.mutable_config()->mutable_faults() = std::move(rules);
  request.mutable_update_mask()->add_paths("faults");
  request.set_expected_version(expected_version != 0 ? expected_version : update->read.version());
  proxynode::v1::UpdateConfigResponse response;
  Outcome outcome = client.UpdateConfig(request, &response);
  if (outcome.ok()) {
    update->applied = response.config();
    update->changed = true;
  }
  return outcome;
}

}  // namespace

Outcome UpdateFaults(NodeClient& client, uint64_t expected_version, const FaultEdit& edit,
                     FaultUpdate* update) {
  if (Outcome read = client.GetConfig(&update->read); !read.ok()) return read;
  for (int attempt = 1;; ++attempt) {
    Outcome outcome = Attempt(client, expected_version, edit, update);
    const bool lost_race = outcome.refusal == grpc::StatusCode::FAILED_PRECONDITION;
    if (!lost_race || expected_version != 0 || attempt == kFaultUpdateAttempts) return outcome;
    // A draining node refuses with the same code; only a version that moved is a race.
    const uint64_t version_sent = update->read.version();
    if (Outcome read = client.GetConfig(&update->read); !read.ok()) return read;
    if (update->read.version() == version_sent) return outcome;
  }
}

}  // namespace proxyctl
