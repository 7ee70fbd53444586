#include "controlplane/control_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/config_translator.h"
#include "controlplane/proto_duration.h"
#include "controlplane/stats_translator.h"
#include "controlplane/status_convert.h"
#include "grpcpp/alarm.h"

namespace proxynode {
namespace {

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
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
    MonoTime now = MonotonicNow();
    if (previous_time_ != 0) {
      double seconds = static_cast<double>(now - previous_time_) / 1e9;
      message_.set_requests_per_second(
          static_cast<double>(message_.total().requests() - previous_requests_) / seconds);
      message_.set_accepts_per_second(
          static_cast<double>(message_.total().connections_accepted() - previous_accepts_) /
          seconds);
      FillIntervalLateness(stats, previous_, &message_);
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
                               std::function<void()> on_drain)
    : dataplane_(dataplane), pipeline_(pipeline), on_drain_(std::move(on_drain)) {}

v1::Stats ControlService::CurrentStats() const {
  return ToProto(dataplane_.CollectStats(), dataplane_.CollectProxyStats(), dataplane_.Info());
}

grpc::ServerUnaryReactor* ControlService::GetConfig(grpc::CallbackServerContext* context,
                                                    const v1::GetConfigRequest* /*request*/,
                                                    v1::GetConfigResponse* response) {
  *response->mutable_config() = ToProto(*dataplane_.config());
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ControlService::UpdateConfig(grpc::CallbackServerContext* context,
                                                       const v1::UpdateConfigRequest* request,
                                                       v1::UpdateConfigResponse* response) {
  ConfigChange change{.source = ConfigSource::kGrpc,
                      .origin = context->peer(),
                      .expected_version = request->expected_version(),
                      .update = FieldMaskUpdate{request->config(), request->update_mask()}};
  // gRPC keeps `response` until the reactor finishes, and the server's Shutdown waits for
  // that, so the pipeline may finish it from any thread.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pipeline_.Submit(std::move(change), [reactor, response](ConfigOutcome outcome) {
    if (!outcome.ok()) {
      reactor->Finish(ToGrpcStatus(outcome.status()));
      return;
    }
    *response->mutable_config() = ToProto(*outcome->config);
    *response->mutable_apply_time() = ToProtoDuration(outcome->apply_time);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
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
    on_drain_();
  }
  return Finished(context, grpc::Status::OK);
}

}  // namespace proxynode
