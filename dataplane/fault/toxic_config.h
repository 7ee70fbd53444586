#pragma once

// Toxics (issue 19, docs/tcp-proxies.md): faults on a TCP proxy's bytes, with Toxiproxy's
// semantics. Each acts on one direction of every connection its toxicity draw hits. Part of
// TcpProxyConfig, so they live in immutable config snapshots.
//
// Thread contract: immutable once published; read by every worker.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/core/clock.h"
#include "dataplane/fault/delay_distribution.h"

namespace proxynode {

enum class ToxicType : uint8_t {
  kLatency,
  kBandwidth,
  kSlowClose,
  kTimeout,
  kResetPeer,
  kSlicer,
  kLimitData,
  kDown,
};

// Toxiproxy's names: "latency", "bandwidth", "slow_close", "timeout", "reset_peer",
// "slicer", "limit_data", and proxynode's "down".
std::string_view ToxicTypeName(ToxicType type);
std::optional<ToxicType> ParseToxicType(std::string_view name);

// kDownstream: upstream -> client; kUpstream: client -> upstream.
enum class ToxicStream : uint8_t { kDownstream, kUpstream };
std::string_view ToxicStreamName(ToxicStream stream);

struct ToxicConfig {
  std::string name;
  ToxicType type = ToxicType::kLatency;
  ToxicStream stream = ToxicStream::kDownstream;
  double toxicity = 1.0;  // [0, 1], drawn per connection
  // kLatency: latency +- a uniform draw within jitter, or `distribution` when set.
  Nanos latency = 0;
  Nanos jitter = 0;
  std::optional<DelayDistribution> distribution;
  // kBandwidth: bytes per second (Toxiproxy's KB/s times 1000; 0: no limit); `shared` by
  // every connection it hits (each worker paces its share).
  uint64_t rate = 0;
  bool shared = false;
  // kSlowClose: the close's delay; kSlicer: the time between slices.
  Nanos delay = 0;
  // kTimeout: close after this long without data (0: never); kResetPeer: the reset's delay.
  Nanos timeout = 0;
  // kSlicer.
  uint64_t average_size = 0;
  uint64_t size_variation = 0;
  // kLimitData.
  uint64_t bytes = 0;

  bool operator==(const ToxicConfig&) const = default;
};

struct ToxicBounds {
  static constexpr size_t kMaxToxicsPerProxy = 32;
  static constexpr size_t kMaxNameBytes = 64;
  static constexpr Nanos kMaxTime = 3600 * kSecond;
  static constexpr Nanos kMaxSlicerDelay = kSecond;
  static constexpr uint64_t kMaxRateKBps = 1'000'000'000;
  static constexpr uint64_t kMaxSliceBytes = 1 << 20;
};

// "<type>_<stream>", Toxiproxy's default name.
std::string DefaultToxicName(ToxicType type, ToxicStream stream);

// Checks one proxy's toxics: names (unique, 1-64 of A-Z a-z 0-9 . _ -) and each type's
// attributes. Messages name `field` ("tcp_proxies[db].toxics[slow]") and the attribute.
absl::Status ValidateToxics(const std::vector<ToxicConfig>& toxics, std::string_view field);

}  // namespace proxynode
