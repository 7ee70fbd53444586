#pragma once

// What the toxics that hit one relayed connection do to one of its directions, summed up
// from its proxy's config and the connection's toxicity draws: the relay reads this, not the
// toxics, for every chunk. Several toxics of one type in a direction combine: latencies add
// up, the lowest rate and data limit hold, the first timeout, reset and slicer act.
//
// Thread contract: the relay's loop thread.

#include <cstdint>
#include <limits>

#include "dataplane/config/tcp_proxy_config.h"
#include "dataplane/core/byte_pacer.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/shared_byte_pacer.h"
#include "dataplane/fault/fault_random.h"

namespace proxynode {

struct FlowEffects {
  static constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

  uint32_t latency_mask = 0;                // toxic indices whose delays add up for each chunk
  uint64_t rate = 0;                        // per-connection bytes per second (0: none)
  SharedBytePacer* shared_pacer = nullptr;  // a shared bandwidth toxic's node-wide pacer
  const ToxicConfig* slicer = nullptr;
  uint64_t limit_bytes = kNoLimit;          // limit_data
  const ToxicConfig* timeout = nullptr;     // drops the data; closes after `timeout` idle
  const ToxicConfig* reset_peer = nullptr;  // drops the data; resets `timeout` after it
  Nanos slow_close = -1;                    // the close waits this long; < 0: none
  bool down = false;

  // The bytes cannot take the zero-copy path.
  bool touches_data() const {
    return latency_mask != 0 || rate != 0 || shared_pacer != nullptr || slicer != nullptr ||
           limit_bytes != kNoLimit || drops_data();
  }
  bool drops_data() const { return timeout != nullptr || reset_peer != nullptr; }
};

// Looks up the worker's pacer of a shared bandwidth toxic (`index` in the proxy's toxics).
class SharedPacers {
 public:
  virtual ~SharedPacers() = default;
  virtual SharedBytePacer* Find(const TcpProxyConfig& proxy, size_t index) = 0;
};

// The effects on `stream` of the toxics in `hit_mask` (bit i: proxy.toxics[i] hit).
FlowEffects SummarizeEffects(const TcpProxyConfig& proxy, uint32_t hit_mask, ToxicStream stream,
                             SharedPacers& pacers);

// A chunk's delay: the sum of the latency toxics in `mask`, each latency +- jitter (at least
// 0) or a draw from its distribution.
Nanos DrawChunkDelay(const TcpProxyConfig& proxy, uint32_t mask, FaultRandom& random);

// A slicer's next slice: average_size +- a uniform draw within size_variation (at least 1).
uint64_t DrawSliceSize(const ToxicConfig& slicer, FaultRandom& random);

}  // namespace proxynode
