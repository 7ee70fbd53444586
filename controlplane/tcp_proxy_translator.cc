#include "controlplane/tcp_proxy_translator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/fault_translator.h"
#include "controlplane/proto_duration.h"

namespace proxynode {
namespace {

// Reads `duration` into `out` unless it is unset.
absl::Status ReadDuration(const std::string& field, bool present,
                          const google::protobuf::Duration& duration, Nanos& out) {
  if (!present) return absl::OkStatus();
  absl::StatusOr<Nanos> nanos = ToNanos(field, duration);
  if (!nanos.ok()) return nanos.status();
  out = *nanos;
  return absl::OkStatus();
}

absl::Status ReadAttributes(const std::string& field, const v1::Toxic& proto, ToxicConfig& toxic) {
  switch (proto.kind_case()) {
    case v1::Toxic::kLatency: {
      toxic.type = ToxicType::kLatency;
      const v1::LatencyToxic& latency = proto.latency();
      if (latency.has_distribution()) {
        absl::StatusOr<DelayDistribution> distribution =
            DistributionFromProto(field + ".latency.distribution", latency.distribution());
        if (!distribution.ok()) return distribution.status();
        toxic.distribution = *std::move(distribution);
      }
      if (absl::Status s = ReadDuration(field + ".latency.latency", latency.has_latency(),
                                        latency.latency(), toxic.latency);
          !s.ok()) {
        return s;
      }
      return ReadDuration(field + ".latency.jitter", latency.has_jitter(), latency.jitter(),
                          toxic.jitter);
    }
    case v1::Toxic::kBandwidth:
      toxic.type = ToxicType::kBandwidth;
      // KB/s as Toxiproxy counts them; beyond the bound the check refuses it, unwrapped.
      toxic.rate = proto.bandwidth().rate() > ToxicBounds::kMaxRateKBps
                       ? ToxicBounds::kMaxRateKBps * 1000 + 1
                       : proto.bandwidth().rate() * 1000;
      toxic.shared = proto.bandwidth().shared();
      return absl::OkStatus();
    case v1::Toxic::kSlowClose:
      toxic.type = ToxicType::kSlowClose;
      return ReadDuration(field + ".slow_close.delay", proto.slow_close().has_delay(),
                          proto.slow_close().delay(), toxic.delay);
    case v1::Toxic::kTimeout:
      toxic.type = ToxicType::kTimeout;
      return ReadDuration(field + ".timeout.timeout", proto.timeout().has_timeout(),
                          proto.timeout().timeout(), toxic.timeout);
    case v1::Toxic::kResetPeer:
      toxic.type = ToxicType::kResetPeer;
      return ReadDuration(field + ".reset_peer.timeout", proto.reset_peer().has_timeout(),
                          proto.reset_peer().timeout(), toxic.timeout);
    case v1::Toxic::kSlicer:
      toxic.type = ToxicType::kSlicer;
      toxic.average_size = proto.slicer().average_size();
      toxic.size_variation = proto.slicer().size_variation();
      return ReadDuration(field + ".slicer.delay", proto.slicer().has_delay(),
                          proto.slicer().delay(), toxic.delay);
    case v1::Toxic::kLimitData:
      toxic.type = ToxicType::kLimitData;
      toxic.bytes = proto.limit_data().bytes();
      return absl::OkStatus();
    case v1::Toxic::kDown:
      toxic.type = ToxicType::kDown;
      return absl::OkStatus();
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field,
                   ": no type (latency, bandwidth, slow_close, timeout, reset_peer, "
                   "slicer, limit_data, down)"));
}

}  // namespace

absl::StatusOr<ToxicConfig> ToxicFromProto(const std::string& field, const v1::Toxic& proto) {
  ToxicConfig toxic;
  if (proto.stream() != v1::Toxic::DOWNSTREAM && proto.stream() != v1::Toxic::UPSTREAM) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".stream: ", proto.stream(), " is not DOWNSTREAM or UPSTREAM"));
  }
  toxic.stream =
      proto.stream() == v1::Toxic::UPSTREAM ? ToxicStream::kUpstream : ToxicStream::kDownstream;
  if (proto.has_toxicity()) toxic.toxicity = proto.toxicity();
  if (absl::Status status = ReadAttributes(field, proto, toxic); !status.ok()) return status;
  toxic.name = proto.name().empty() ? DefaultToxicName(toxic.type, toxic.stream) : proto.name();
  return toxic;
}

absl::StatusOr<TcpProxyConfig> TcpProxyFromProto(const std::string& field,
                                                 const v1::TcpProxy& proto) {
  TcpProxyConfig proxy;
  proxy.name = proto.name();
  proxy.listen = proto.listen();
  proxy.upstream = proto.upstream();
  proxy.enabled = !proto.has_enabled() || proto.enabled();
  if (absl::Status s = ReadDuration(field + ".connect_timeout", proto.has_connect_timeout(),
                                    proto.connect_timeout(), proxy.connect_timeout);
      !s.ok()) {
    return s;
  }
  proxy.toxics.reserve(static_cast<size_t>(proto.toxics_size()));
  for (int i = 0; i < proto.toxics_size(); ++i) {
    absl::StatusOr<ToxicConfig> toxic =
        ToxicFromProto(absl::StrCat(field, ".toxics[", i, "]"), proto.toxics(i));
    if (!toxic.ok()) return toxic.status();
    proxy.toxics.push_back(*std::move(toxic));
  }
  return proxy;
}

v1::Toxic ToProto(const ToxicConfig& toxic) {
  v1::Toxic proto;
  proto.set_name(toxic.name);
  proto.set_stream(toxic.stream == ToxicStream::kUpstream ? v1::Toxic::UPSTREAM
                                                          : v1::Toxic::DOWNSTREAM);
  proto.set_toxicity(toxic.toxicity);
  switch (toxic.type) {
    case ToxicType::kLatency: {
      v1::LatencyToxic& latency = *proto.mutable_latency();
      if (toxic.distribution) {
        *latency.mutable_distribution() = ToProto(*toxic.distribution);
      } else {
        *latency.mutable_latency() = ToProtoDuration(toxic.latency);
        *latency.mutable_jitter() = ToProtoDuration(toxic.jitter);
      }
      break;
    }
    case ToxicType::kBandwidth:
      proto.mutable_bandwidth()->set_rate(toxic.rate / 1000);
      proto.mutable_bandwidth()->set_shared(toxic.shared);
      break;
    case ToxicType::kSlowClose:
      *proto.mutable_slow_close()->mutable_delay() = ToProtoDuration(toxic.delay);
      break;
    case ToxicType::kTimeout:
      *proto.mutable_timeout()->mutable_timeout() = ToProtoDuration(toxic.timeout);
      break;
    case ToxicType::kResetPeer:
      *proto.mutable_reset_peer()->mutable_timeout() = ToProtoDuration(toxic.timeout);
      break;
    case ToxicType::kSlicer:
      proto.mutable_slicer()->set_average_size(toxic.average_size);
      proto.mutable_slicer()->set_size_variation(toxic.size_variation);
      *proto.mutable_slicer()->mutable_delay() = ToProtoDuration(toxic.delay);
      break;
    case ToxicType::kLimitData:
      proto.mutable_limit_data()->set_bytes(toxic.bytes);
      break;
    case ToxicType::kDown:
      proto.mutable_down();
      break;
  }
  return proto;
}

v1::TcpProxy ToProto(const TcpProxyConfig& proxy) {
  v1::TcpProxy proto;
  proto.set_name(proxy.name);
  proto.set_listen(proxy.listen);
  proto.set_upstream(proxy.upstream);
  proto.set_enabled(proxy.enabled);
  for (const ToxicConfig& toxic : proxy.toxics) {
    *proto.add_toxics() = ToProto(toxic);
  }
  *proto.mutable_connect_timeout() = ToProtoDuration(proxy.connect_timeout);
  return proto;
}

}  // namespace proxynode
