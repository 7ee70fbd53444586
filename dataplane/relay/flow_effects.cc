#include "dataplane/relay/flow_effects.h"

#include <algorithm>

namespace proxynode {
namespace {

// Uniform in [-spread, +spread].
int64_t DrawSpread(int64_t spread, FaultRandom& random) {
  if (spread <= 0) return 0;
  const auto width = static_cast<uint64_t>(spread) * 2 + 1;
  return static_cast<int64_t>(random.Next() % width) - spread;
}

}  // namespace

FlowEffects SummarizeEffects(const TcpProxyConfig& proxy, uint32_t hit_mask, ToxicStream stream,
                             SharedPacers& pacers) {
  FlowEffects effects;
  for (size_t i = 0; i < proxy.toxics.size(); ++i) {
    const ToxicConfig& toxic = proxy.toxics[i];
    if ((hit_mask & (uint32_t{1} << i)) == 0) continue;
    if (toxic.type == ToxicType::kDown) {
      effects.down = true;  // either direction: the connection is refused
      continue;
    }
    if (toxic.stream != stream) continue;
    switch (toxic.type) {
      case ToxicType::kLatency:
        effects.latency_mask |= uint32_t{1} << i;
        break;
      case ToxicType::kBandwidth:
        if (toxic.rate == 0) break;  // no limit
        if (toxic.shared) {
          if (effects.shared_pacer == nullptr) effects.shared_pacer = pacers.Find(proxy, i);
        } else {
          effects.rate = effects.rate == 0 ? toxic.rate : std::min(effects.rate, toxic.rate);
        }
        break;
      case ToxicType::kSlowClose:
        effects.slow_close = std::max(effects.slow_close, toxic.delay);
        break;
      case ToxicType::kTimeout:
        if (effects.timeout == nullptr) effects.timeout = &toxic;
        break;
      case ToxicType::kResetPeer:
        if (effects.reset_peer == nullptr) effects.reset_peer = &toxic;
        break;
      case ToxicType::kSlicer:
        if (effects.slicer == nullptr) effects.slicer = &toxic;
        break;
      case ToxicType::kLimitData:
        effects.limit_bytes = std::min(effects.limit_bytes, toxic.bytes);
        break;
      case ToxicType::kDown:
        break;
    }
  }
  return effects;
}

Nanos DrawChunkDelay(const TcpProxyConfig& proxy, uint32_t mask, FaultRandom& random) {
  Nanos total = 0;
  for (size_t i = 0; mask != 0 && i < proxy.toxics.size(); ++i) {
    if ((mask & (uint32_t{1} << i)) == 0) continue;
    mask &= ~(uint32_t{1} << i);
    const ToxicConfig& toxic = proxy.toxics[i];
    if (toxic.distribution) {
      total += DrawDelay(*toxic.distribution, random);
    } else {
      total += std::max<Nanos>(0, toxic.latency + DrawSpread(toxic.jitter, random));
    }
  }
  return total;
}

uint64_t DrawSliceSize(const ToxicConfig& slicer, FaultRandom& random) {
  const auto size = static_cast<int64_t>(slicer.average_size) +
                    DrawSpread(static_cast<int64_t>(slicer.size_variation), random);
  return static_cast<uint64_t>(std::max<int64_t>(size, 1));
}

}  // namespace proxynode
