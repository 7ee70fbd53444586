#include "controlplane/control_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/config_audit.h"
#include "controlplane/config_translator.h"
#include "controlplane/proto_duration.h"
#include "controlplane/stats_translator.h"
#include "controlplane/status_convert.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/alarm.h"
#include "grpcpp/security/auth_context.h"

namespace proxynode {
namespace {

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// The client certificate's subject CN, else its first SAN, under mutual TLS; empty otherwise.
std::string PeerIdentity(const grpc::CallbackServerContext& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return "";
  }
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    const std::vector<grpc::string_ref> values = auth->FindPropertyValues(property);
    if (!values.empty()) {
      return std::string(values.front().data(), values.front().size());
    }
  }
  return "";
}

v1::ConfigHistoryEntry::Source ToProto(ConfigSource source) {
  switch (source) {
    case ConfigSource::kStartup:
      return v1::ConfigHistoryEntry::STARTUP;
    case ConfigSource::kConfigFile:
      return v1::ConfigHistoryEntry::CONFIG_FILE;
    case ConfigSource::kGrpc:
      return v1::ConfigHistoryEntry::GRPC;
    case ConfigSource::kExpiry:
      return v1::ConfigHistoryEntry::EXPIRY;
    case ConfigSource::kRollback:
      return v1::ConfigHistoryEntry::ROLLBACK;
    case ConfigSource::kToxiproxyApi:
      return v1::ConfigHistoryEntry::TOXIPROXY_API;
  }
  return v1::ConfigHistoryEntry::SOURCE_UNSPECIFIED;
}

void FillEntry(const ConfigHistoryEntry& entry, bool with_config, v1::ConfigHistoryEntry* out) {
  out->set_version(entry.version);
  out->mutable_applied_at()->set_seconds(entry.applied_unix_nanos / kSecond);
  out->mutable_applied_at()->set_nanos(static_cast<int32_t>(entry.applied_unix_nanos % kSecond));
  out->set_source(ToProto(entry.source));
  out->set_origin(entry.origin);
  out->set_identity(entry.identity);
  out->set_restored_version(entry.restored_version);
  for (const v1::ConfigFieldChange& change : entry.diff) {
    *out->add_diff() = change;
  }
  if (with_config) {
    *out->mutable_config() = ToProto(*entry.config);
  }
}

// The whole config a declarative update stands for: `defaults` under the fields `update`
// sets, with exactly its routes and fault rules.
absl::StatusOr<NodeConfig> Declared(NodeConfig defaults, const v1::UpdateConfigRequest& request) {
  if (!request.update_mask().paths().empty()) {
    return absl::InvalidArgumentError(
        "update_mask: must be empty with replace (the config is taken whole)");
  }
  defaults.routes.clear();
  defaults.faults.clear();
  return MergePresentFields(defaults, request.config());
}

}  // namespace

// Streams Stats every interval, with rates over it, until the client goes away. Owns itself:
// gRPC calls OnDone last, after Finish, and that deletes it.
class StatsWatcher : public grpc::ServerWriteReactor<v1::Stats> {
 public:
  StatsWatcher(ControlService& service, Nanos interval) : service_(service), interval_(interval) {
    SendNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // the client went away
      return;
    }
    // The alarm's callback runs exactly once: ok=true when due, false when cancelled.
    alarm_.Set(std::chrono::system_clock::now() + std::chrono::nanoseconds(interval_),
               [this](bool due) {
                 if (due) {
                   SendNext();
                 } else {
                   Finish(grpc::Status::OK);
                 }
               });
  }

  void OnCancel() override { alarm_.Cancel(); }

  void OnDone() override {
    service_.watchers_.fetch_sub(1);
    delete this;
  }

 private:
  void SendNext() {
    StatsSnapshot stats = service_.dataplane_.CollectStats();
    message_ = ToProto(stats, service_.dataplane_.CollectProxyStats(), service_.dataplane_.Info());
    FillTcpProxies(service_.dataplane_.CollectTcpProxyStats(), &message_);
    MonoTime now = MonotonicNow();
    if (previous_time_ != 0) {
      double seconds = static_cast<double>(now - previous_time_) / 1e9;
      message_.set_requests_per_second(
          static_cast<double>(message_.total().requests() - previous_requests_) / seconds);
      message_.set_accepts_per_second(
          static_cast<double>(message_.total().connections_accepted() - previous_accepts_) /
          seconds);
      FillIntervalLatency(stats, previous_, &message_);
    }
    previous_ = std::move(stats);
    previous_time_ = now;
    previous_requests_ = message_.total().requests();
    previous_accepts_ = message_.total().connections_accepted();
    StartWrite(&message_);
  }

  ControlService& service_;
  const Nanos interval_;
  grpc::Alarm alarm_;
  v1::Stats message_;
  MonoTime previous_time_ = 0;
  uint64_t previous_requests_ = 0;
  uint64_t previous_accepts_ = 0;
  StatsSnapshot previous_;  // for the interval's lateness
};

ControlService::ControlService(Dataplane& dataplane, ConfigPipeline& pipeline,
                               std::function<void()> on_drain, Settings settings)
    : dataplane_(dataplane),
      pipeline_(pipeline),
      on_drain_(std::move(on_drain)),
      settings_(std::move(settings)) {}

v1::Stats ControlService::CurrentStats() const {
  v1::Stats stats =
      ToProto(dataplane_.CollectStats(), dataplane_.CollectProxyStats(), dataplane_.Info());
  FillTcpProxies(dataplane_.CollectTcpProxyStats(), &stats);
  return stats;
}

grpc::ServerUnaryReactor* ControlService::GetConfig(grpc::CallbackServerContext* context,
                                                    const v1::GetConfigRequest* /*request*/,
                                                    v1::GetConfigResponse* response) {
  const ConfigSnapshotPtr running = dataplane_.config();
  *response->mutable_config() = ToProto(*running);
  response->set_watched_config_file(settings_.watched_config_file);
  if (running->max_connections == 0) {
    (*response->mutable_effective_values())["max_connections"] =
        absl::StrCat(dataplane_.connection_cap());
  }
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ControlService::UpdateConfig(grpc::CallbackServerContext* context,
                                                       const v1::UpdateConfigRequest* request,
                                                       v1::UpdateConfigResponse* response) {
  ConfigChange change{.source = ConfigSource::kGrpc,
                      .origin = context->peer(),
                      .identity = PeerIdentity(*context),
                      .expected_version = request->expected_version(),
                      .update = FieldMaskUpdate{request->config(), request->update_mask()},
                      .dry_run = request->validate_only()};
  if (request->replace()) {
    absl::StatusOr<NodeConfig> whole = Declared(settings_.defaults, *request);
    if (!whole.ok()) {
      AuditRefused(change, whole.status(), pipeline_.running_version());
      return Finished(context, ToGrpcStatus(whole.status()));
    }
    change.update = *std::move(whole);
  }
  return Submit(context, std::move(change), response);
}

grpc::ServerUnaryReactor* ControlService::RollbackConfig(grpc::CallbackServerContext* context,
                                                         const v1::RollbackConfigRequest* request,
                                                         v1::UpdateConfigResponse* response) {
  uint64_t to_version = request->to_version();
  if (to_version == 0) {
    std::optional<ConfigHistoryEntry> before =
        pipeline_.history().Before(pipeline_.running_version());
    if (!before) {
      return Finished(context, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            "no earlier version is kept to roll back to"));
    }
    to_version = before->version;
  }
  ConfigChange change{.source = ConfigSource::kRollback,
                      .origin = context->peer(),
                      .identity = PeerIdentity(*context),
                      .expected_version = request->expected_version(),
                      .update = RollbackTo{.version = to_version},
                      .dry_run = request->validate_only()};
  return Submit(context, std::move(change), response);
}

grpc::ServerUnaryReactor* ControlService::Submit(grpc::CallbackServerContext* context,
                                                 ConfigChange change,
                                                 v1::UpdateConfigResponse* response) {
  // gRPC keeps `response` until the reactor finishes, and the server's Shutdown waits for
  // that, so the pipeline may finish it from any thread.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pipeline_.Submit(std::move(change), [this, reactor, response](ConfigOutcome outcome) {
    if (!outcome.ok()) {
      reactor->Finish(ToGrpcStatus(outcome.status()));
      return;
    }
    *response->mutable_config() = ToProto(*outcome->config);
    *response->mutable_apply_time() = ToProtoDuration(outcome->apply_time);
    for (v1::ConfigFieldChange& field : outcome->diff) {
      *response->add_diff() = std::move(field);
    }
    response->set_unchanged(!outcome->changed);
    response->set_dry_run(outcome->dry_run);
    response->set_watched_config_file(settings_.watched_config_file);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::GetConfigHistory(
    grpc::CallbackServerContext* context, const v1::GetConfigHistoryRequest* request,
    v1::GetConfigHistoryResponse* response) {
  if (request->version() != 0) {
    std::optional<ConfigHistoryEntry> entry = pipeline_.history().Find(request->version());
    if (!entry) {
      return Finished(context, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            absl::StrCat("version ", request->version(),
                                                         " is not in the history")));
    }
    FillEntry(*entry, true, response->add_entries());
    return Finished(context, grpc::Status::OK);
  }
  for (const ConfigHistoryEntry& entry : pipeline_.history().Entries()) {
    FillEntry(entry, false, response->add_entries());
  }
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ControlService::GetStats(grpc::CallbackServerContext* context,
                                                   const v1::GetStatsRequest* /*request*/,
                                                   v1::Stats* response) {
  *response = CurrentStats();
  return Finished(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::Stats>* ControlService::WatchStats(
    grpc::CallbackServerContext* /*context*/, const v1::WatchStatsRequest* request) {
  Nanos interval = request->interval().seconds() * kSecond + request->interval().nanos();
  if (interval == 0) {
    interval = kSecond;
  }
  grpc::Status refusal;
  if (interval < 100 * kMillisecond || interval > 3600 * kSecond) {
    refusal = grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("interval: ", FormatDuration(interval), " is out of range [100ms, 1h]"));
  } else if (watchers_.fetch_add(1) >= kMaxWatchers) {
    watchers_.fetch_sub(1);
    refusal = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           absl::StrCat("at most ", kMaxWatchers, " WatchStats streams at once"));
  } else {
    return new StatsWatcher(*this, interval);
  }
  // A reactor that only reports the refusal.
  class Refused : public grpc::ServerWriteReactor<v1::Stats> {
   public:
    explicit Refused(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  return new Refused(refusal);
}

grpc::ServerUnaryReactor* ControlService::ListConnections(grpc::CallbackServerContext* context,
                                                          const v1::ListConnectionsRequest* request,
                                                          v1::ListConnectionsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const uint32_t limit = request->limit();
  dataplane_.ListConnections([reactor, response, limit](std::vector<ConnectionInfo> rows) {
    const MonoTime now = MonotonicNow();
    response->set_total(static_cast<uint32_t>(rows.size()));
    size_t shown = limit == 0 ? rows.size() : std::min<size_t>(limit, rows.size());
    for (size_t i = 0; i < shown; ++i) {
      const ConnectionInfo& row = rows[i];
      v1::Connection* out = response->add_connections();
      out->set_id(row.id);
      out->set_peer(row.peer);
      out->set_worker(row.worker);
      *out->mutable_age() = ToProtoDuration(now - row.accepted_at);
      out->set_requests(row.requests_served);
      out->set_state(std::string(row.state));
      out->set_bytes_in(row.bytes_in);
      out->set_bytes_out(row.bytes_out);
      out->set_tcp_proxy(row.tcp_proxy);
      out->set_protocol(std::string(row.protocol));
      out->set_tls_version(std::string(row.tls_version));
      out->set_upstream(row.upstream);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ControlService::Drain(grpc::CallbackServerContext* context,
                                                const v1::DrainRequest* /*request*/,
                                                v1::DrainResponse* response) {
  response->set_connections(static_cast<uint64_t>(dataplane_.Info().connections));
  if (!drain_requested_.exchange(true)) {
    AuditDrain(context->peer(), PeerIdentity(*context), response->connections());
    on_drain_();
  }
  return Finished(context, grpc::Status::OK);
}

}  // namespace proxynode
