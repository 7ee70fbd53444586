#include "cli/tcp_update.h"

#include "cli/fleet.h"
#include "cli/update_report.h"
#include "google/protobuf/util/message_differencer.h"

namespace proxyctl {
namespace {

bool SameProxies(const TcpProxies& a, const TcpProxies& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(a.Get(i), b.Get(i))) return false;
  }
  return true;
}

// One attempt on the config read: edit, then send unless nothing changed.
Outcome Attempt(NodeClient& client, const TcpUpdateOptions& options, const TcpEdit& edit,
                TcpUpdate* update) {
  TcpProxies proxies = update->read.tcp_proxies();
  if (absl::Status edited = edit(proxies); !edited.ok()) {
    return Outcome::Failure(kExitRefused, std::string(edited.message()));
  }
  if (SameProxies(proxies, update->read.tcp_proxies())) {
    update->response.Clear();
    *update->response.mutable_config() = update->read;
    update->response.set_unchanged(true);
    update->response.set_dry_run(options.dry_run);
    return Outcome{};
  }
  proxynode::v1::UpdateConfigRequest request;
  *request.mutable_config()->mutable_tcp_proxies() = std::move(proxies);
  request.mutable_update_mask()->add_paths("tcp_proxies");
  request.set_expected_version(options.expected_version != 0 ? options.expected_version
                                                             : update->read.version());
  request.set_validate_only(options.dry_run);
  return client.UpdateConfig(request, &update->response);
}

}  // namespace

Outcome UpdateTcpProxies(NodeClient& client, const TcpUpdateOptions& options, const TcpEdit& edit,
                         TcpUpdate* update) {
  if (Outcome read = client.GetConfig(&update->read); !read.ok()) return read;
  for (int attempt = 1;; ++attempt) {
    Outcome outcome = Attempt(client, options, edit, update);
    const bool lost_race = outcome.refusal == grpc::StatusCode::FAILED_PRECONDITION;
    if (!lost_race || options.expected_version != 0 || attempt == kTcpUpdateAttempts) {
      return outcome;
    }
    // A draining node refuses with the same code; only a version that moved is a race.
    const uint64_t version_sent = update->read.version();
    if (Outcome read = client.GetConfig(&update->read); !read.ok()) return read;
    if (update->read.version() == version_sent) return outcome;
  }
}

int RunTcpChange(const Context& context, const TcpUpdateOptions& options, const std::string& verb,
                 const TcpEdit& edit) {
  return RunOnNodes(context, UpdateReportHeaders(), [&](NodeClient& client) {
    TcpUpdate update;
    Outcome outcome = UpdateTcpProxies(client, options, edit, &update);
    if (!outcome.ok()) return NodeReport{outcome, "", "", {}};
    NodeReport report = UpdateReport(client.address(), update.response, verb);
    report.outcome = outcome;
    return report;
  });
}

}  // namespace proxyctl
