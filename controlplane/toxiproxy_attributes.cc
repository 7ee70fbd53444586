#include "controlplane/toxiproxy_attributes.h"

#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/toxiproxy_json.h"

namespace proxynode::toxiproxy {
namespace {

using google::protobuf::Duration;
using google::protobuf::Struct;

constexpr std::array<std::pair<v1::Toxic::KindCase, std::string_view>, 8> kTypeNames = {{
    {v1::Toxic::kLatency, "latency"},
    {v1::Toxic::kBandwidth, "bandwidth"},
    {v1::Toxic::kSlowClose, "slow_close"},
    {v1::Toxic::kTimeout, "timeout"},
    {v1::Toxic::kResetPeer, "reset_peer"},
    {v1::Toxic::kSlicer, "slicer"},
    {v1::Toxic::kLimitData, "limit_data"},
    {v1::Toxic::kDown, "down"},
}};

}  // namespace

std::string_view ToxicTypeName(v1::Toxic::KindCase kind) {
  for (const auto& [known, name] : kTypeNames) {
    if (known == kind) {
      return name;
    }
  }
  return "";
}

bool SetToxicType(std::string_view type, v1::Toxic& toxic) {
  v1::Toxic::KindCase kind = v1::Toxic::KIND_NOT_SET;
  for (const auto& [known, name] : kTypeNames) {
    if (name == type) {
      kind = known;
    }
  }
  switch (kind) {
    case v1::Toxic::kLatency:
      toxic.mutable_latency();
      return true;
    case v1::Toxic::kBandwidth:
      toxic.mutable_bandwidth();
      return true;
    case v1::Toxic::kSlowClose:
      toxic.mutable_slow_close();
      return true;
    case v1::Toxic::kTimeout:
      toxic.mutable_timeout();
      return true;
    case v1::Toxic::kResetPeer:
      toxic.mutable_reset_peer();
      return true;
    case v1::Toxic::kSlicer:
      toxic.mutable_slicer();
      return true;
    case v1::Toxic::kLimitData:
      toxic.mutable_limit_data();
      return true;
    case v1::Toxic::kDown:
      toxic.mutable_down();
      return true;
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return false;
}

namespace {

// Toxiproxy's units: most times are milliseconds, the slicer's delay microseconds.
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerMicro = 1'000;

int64_t InUnits(const Duration& duration, int64_t nanos_per_unit) {
  return duration.seconds() * (1'000'000'000 / nanos_per_unit) + duration.nanos() / nanos_per_unit;
}

// Split into seconds first, so a huge count of units cannot overflow nanoseconds; the
// config's validation then refuses it as out of range.
Duration FromUnits(int64_t count, int64_t nanos_per_unit) {
  const int64_t per_second = 1'000'000'000 / nanos_per_unit;
  Duration duration;
  duration.set_seconds(count / per_second);
  duration.set_nanos(static_cast<int32_t>((count % per_second) * nanos_per_unit));
  return duration;
}

absl::Status ReadDuration(const Struct& attributes, std::string_view key, int64_t nanos_per_unit,
                          Duration* out) {
  absl::StatusOr<std::optional<int64_t>> count = IntegerMember(attributes, key);
  if (!count.ok()) {
    return count.status();
  }
  if (count->has_value()) {
    *out = FromUnits(**count, nanos_per_unit);
  }
  return absl::OkStatus();
}

// Sizes and rates: whole and not negative (the proto's fields are unsigned).
absl::StatusOr<std::optional<uint64_t>> CountMember(const Struct& attributes,
                                                    std::string_view key) {
  absl::StatusOr<std::optional<int64_t>> count = IntegerMember(attributes, key);
  if (!count.ok()) {
    return count.status();
  }
  if (!count->has_value()) {
    return std::optional<uint64_t>();
  }
  if (**count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad request body: ", std::string(key), ": ", **count, " is negative"));
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(**count));
}

template <typename Setter>
absl::Status ReadCount(const Struct& attributes, std::string_view key, Setter set) {
  absl::StatusOr<std::optional<uint64_t>> count = CountMember(attributes, key);
  if (!count.ok()) {
    return count.status();
  }
  if (count->has_value()) {
    set(**count);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadAttributes(const Struct& attributes, v1::Toxic& toxic) {
  switch (toxic.kind_case()) {
    case v1::Toxic::kLatency: {
      v1::LatencyToxic& latency = *toxic.mutable_latency();
      absl::Status status =
          ReadDuration(attributes, "latency", kNanosPerMilli, latency.mutable_latency());
      return status.ok()
                 ? ReadDuration(attributes, "jitter", kNanosPerMilli, latency.mutable_jitter())
                 : status;
    }
    case v1::Toxic::kBandwidth: {
      v1::BandwidthToxic& bandwidth = *toxic.mutable_bandwidth();
      absl::Status status =
          ReadCount(attributes, "rate", [&](uint64_t rate) { bandwidth.set_rate(rate); });
      absl::StatusOr<std::optional<bool>> shared = BoolMember(attributes, "shared");
      if (!status.ok() || !shared.ok()) {
        return status.ok() ? shared.status() : status;
      }
      if (shared->has_value()) {
        bandwidth.set_shared(**shared);
      }
      return absl::OkStatus();
    }
    case v1::Toxic::kSlowClose:
      return ReadDuration(attributes, "delay", kNanosPerMilli,
                          toxic.mutable_slow_close()->mutable_delay());
    case v1::Toxic::kTimeout:
      return ReadDuration(attributes, "timeout", kNanosPerMilli,
                          toxic.mutable_timeout()->mutable_timeout());
    case v1::Toxic::kResetPeer:
      return ReadDuration(attributes, "timeout", kNanosPerMilli,
                          toxic.mutable_reset_peer()->mutable_timeout());
    case v1::Toxic::kSlicer: {
      v1::SlicerToxic& slicer = *toxic.mutable_slicer();
      absl::Status status = ReadCount(attributes, "average_size",
                                      [&](uint64_t size) { slicer.set_average_size(size); });
      if (status.ok()) {
        status = ReadCount(attributes, "size_variation",
                           [&](uint64_t size) { slicer.set_size_variation(size); });
      }
      return status.ok() ? ReadDuration(attributes, "delay", kNanosPerMicro, slicer.mutable_delay())
                         : status;
    }
    case v1::Toxic::kLimitData:
      return ReadCount(attributes, "bytes",
                       [&](uint64_t bytes) { toxic.mutable_limit_data()->set_bytes(bytes); });
    case v1::Toxic::kDown:
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

std::string AttributesJson(const v1::Toxic& toxic) {
  switch (toxic.kind_case()) {
    case v1::Toxic::kLatency:
      return absl::StrCat("{\"latency\":", InUnits(toxic.latency().latency(), kNanosPerMilli),
                          ",\"jitter\":", InUnits(toxic.latency().jitter(), kNanosPerMilli), "}");
    case v1::Toxic::kBandwidth:
      // `shared` is proxynode's own; shown only when set, so Toxiproxy's shape stays as it is.
      return absl::StrCat("{\"rate\":", toxic.bandwidth().rate(),
                          toxic.bandwidth().shared() ? ",\"shared\":true" : "", "}");
    case v1::Toxic::kSlowClose:
      return absl::StrCat("{\"delay\":", InUnits(toxic.slow_close().delay(), kNanosPerMilli), "}");
    case v1::Toxic::kTimeout:
      return absl::StrCat("{\"timeout\":", InUnits(toxic.timeout().timeout(), kNanosPerMilli), "}");
    case v1::Toxic::kResetPeer:
      return absl::StrCat("{\"timeout\":", InUnits(toxic.reset_peer().timeout(), kNanosPerMilli),
                          "}");
    case v1::Toxic::kSlicer:
      return absl::StrCat("{\"average_size\":", toxic.slicer().average_size(),
                          ",\"size_variation\":", toxic.slicer().size_variation(),
                          ",\"delay\":", InUnits(toxic.slicer().delay(), kNanosPerMicro), "}");
    case v1::Toxic::kLimitData:
      return absl::StrCat("{\"bytes\":", toxic.limit_data().bytes(), "}");
    case v1::Toxic::kDown:
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return "{}";
}

}  // namespace proxynode::toxiproxy
