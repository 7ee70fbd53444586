#include "controlplane/stats_translator.h"

#include <sys/time.h>

#include <algorithm>

#include "common/grpc_status.h"
#include "controlplane/proto_duration.h"

namespace proxynode {
namespace {

void FillCounters(const StatsValues& values, v1::Counters* out) {
#define PROXYNODE_SET(name, metric, help) out->set_##name(values.name);
  PROXYNODE_WORKER_COUNTERS(PROXYNODE_SET)
#undef PROXYNODE_SET
#define PROXYNODE_SET(status_class) \
  out->set_responses_##status_class(values.responses_##status_class);
  PROXYNODE_RESPONSE_CLASSES(PROXYNODE_SET)
#undef PROXYNODE_SET
#define PROXYNODE_SET(reason, help) out->set_closed_##reason(values.closed_##reason);
  PROXYNODE_CLOSE_REASONS(PROXYNODE_SET)
#undef PROXYNODE_SET
  out->set_connections_closed(values.connections_closed());
#define PROXYNODE_SET(name, help) out->set_##name(values.name);
  PROXYNODE_WORKER_GAUGES(PROXYNODE_SET)
#undef PROXYNODE_SET
  auto& rejected = *out->mutable_rejected();
#define PROXYNODE_SET(reason, help) rejected[#reason] = values.rejected.reason;
  PROXYNODE_REJECTION_REASONS(PROXYNODE_SET)
#undef PROXYNODE_SET
}

void FillLatency(const HistogramSnapshot& histogram, v1::LatencySummary* out) {
  out->set_count(histogram.count());
  std::vector<Nanos> p = histogram.Percentiles({0.5, 0.9, 0.99, 0.999});
  *out->mutable_p50() = ToProtoDuration(p[0]);
  *out->mutable_p90() = ToProtoDuration(p[1]);
  *out->mutable_p99() = ToProtoDuration(p[2]);
  *out->mutable_p999() = ToProtoDuration(p[3]);
}

void FillUpstream(const UpstreamStatsValues& values, v1::UpstreamStats* out) {
  out->set_address(values.address);
#define PROXYNODE_SET(name, help) out->set_##name(values.name);
  PROXYNODE_UPSTREAM_COUNTERS(PROXYNODE_SET)
  PROXYNODE_UPSTREAM_GAUGES(PROXYNODE_SET)
#undef PROXYNODE_SET
  auto& errors = *out->mutable_errors();
#define PROXYNODE_SET(reason, help) errors[#reason] = values.errors.reason;
  PROXYNODE_UPSTREAM_ERRORS(PROXYNODE_SET)
#undef PROXYNODE_SET
  FillLatency(values.latency, out->mutable_latency());
}

void FillRoute(const RouteStatsValues& values, v1::RouteStats* out) {
  out->set_prefix(values.prefix);
#define PROXYNODE_SET(name, help) out->set_##name(values.name);
  PROXYNODE_ROUTE_COUNTERS(PROXYNODE_SET)
#undef PROXYNODE_SET
  for (size_t code = 0; code < kGrpcStatusCount; ++code) {
    if (values.grpc_status[code] != 0) {
      (*out->mutable_grpc_status())[std::string(kGrpcStatusNames[code])] = values.grpc_status[code];
    }
  }
  FillLatency(values.latency, out->mutable_latency());
}

void FillFaultRule(const FaultRuleStatsValues& values, v1::FaultRuleStats* out) {
  out->set_name(values.name);
#define PROXYNODE_SET(name, help) out->set_##name(values.name);
  PROXYNODE_FAULT_COUNTERS(PROXYNODE_SET)
#undef PROXYNODE_SET
  auto& aborted = *out->mutable_aborted();
#define PROXYNODE_SET(kind, help) aborted[#kind] = values.aborted.kind;
  PROXYNODE_FAULT_ABORTS(PROXYNODE_SET)
#undef PROXYNODE_SET
  FillLatency(values.injected_delay, out->mutable_injected_delay());
}

}  // namespace

v1::Stats ToProto(const StatsSnapshot& stats, const ProxyStatsSnapshot& proxy,
                  const NodeInfo& info) {
  v1::Stats proto;
  timeval now{};
  gettimeofday(&now, nullptr);
  proto.mutable_time()->set_seconds(now.tv_sec);
  proto.mutable_time()->set_nanos(static_cast<int32_t>(now.tv_usec * 1000));
  *proto.mutable_uptime() = ToProtoDuration(static_cast<Nanos>(info.uptime_seconds * 1e9));
  proto.set_config_version(info.config_version);
  proto.set_workers(info.workers);
  proto.set_draining(info.draining);
  FillCounters(stats.total, proto.mutable_total());
  for (const WorkerStatsValues& worker : stats.workers) {
    v1::WorkerStats* row = proto.add_per_worker();
    row->set_index(worker.index);
    FillCounters(worker.values, row->mutable_counters());
    FillLatency(worker.timer_lateness, row->mutable_timer_lateness());
  }
  FillLatency(stats.request_latency, proto.mutable_request_latency());
  FillLatency(stats.timer_lateness, proto.mutable_timer_lateness());
  proto.set_fd_soft_limit(info.fd_soft_limit);
  proto.set_fd_hard_limit(info.fd_hard_limit);
  proto.set_active_faults(info.active_faults);
  proto.mutable_build()->set_version(info.build.version);
  proto.mutable_build()->set_commit(info.build.commit);
  proto.mutable_build()->set_build_type(info.build.build_type);
  for (const UpstreamStatsValues& upstream : proxy.upstreams) {
    FillUpstream(upstream, proto.add_upstreams());
  }
  for (const RouteStatsValues& route : proxy.routes) {
    FillRoute(route, proto.add_routes());
  }
  for (const FaultRuleStatsValues& rule : proxy.faults) {
    FillFaultRule(rule, proto.add_faults());
  }
  return proto;
}

void FillTcpProxies(const std::vector<TcpProxyStatsValues>& proxies, v1::Stats* out) {
  for (const TcpProxyStatsValues& values : proxies) {
    v1::TcpProxyStats* proxy = out->add_tcp_proxies();
    proxy->set_name(values.name);
#define PROXYNODE_SET(name, help) proxy->set_##name(values.name);
    PROXYNODE_TCP_PROXY_COUNTERS(PROXYNODE_SET)
#undef PROXYNODE_SET
    proxy->set_active(values.active);
    for (const ToxicStatsValues& toxic_values : values.toxics) {
      v1::ToxicStats* toxic = proxy->add_toxics();
      toxic->set_name(toxic_values.name);
      toxic->set_type(toxic_values.type);
      toxic->set_applied(toxic_values.applied);
      toxic->set_skipped(toxic_values.skipped);
    }
  }
}

void FillIntervalLatency(const StatsSnapshot& now, const StatsSnapshot& before, v1::Stats* out) {
  FillLatency(now.timer_lateness.Since(before.timer_lateness),
              out->mutable_interval_timer_lateness());
  FillLatency(now.request_latency.Since(before.request_latency),
              out->mutable_interval_request_latency());
  for (v1::WorkerStats& row : *out->mutable_per_worker()) {
    const auto same_index = [&row](const WorkerStatsValues& w) { return w.index == row.index(); };
    const auto current = std::find_if(now.workers.begin(), now.workers.end(), same_index);
    if (current == now.workers.end()) {
      continue;
    }
    const auto earlier = std::find_if(before.workers.begin(), before.workers.end(), same_index);
    FillLatency(earlier == before.workers.end()
                    ? current->timer_lateness
                    : current->timer_lateness.Since(earlier->timer_lateness),
                row.mutable_interval_timer_lateness());
  }
}

}  // namespace proxynode
