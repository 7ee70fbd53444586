#pragma once

// The node's shared bandwidth pacers, one per (proxy, toxic, rate): what every worker's
// relays under a `shared` bandwidth toxic draw from together (core/shared_byte_pacer.h).
// A pacer lives while a worker's config refers to it; a changed rate is a new pacer.
//
// Thread contract: Get from any thread (workers, as they apply a config); a mutex guards the
// map, which is touched per config change, never per byte.

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/shared_byte_pacer.h"

namespace proxynode {

class SharedPacerRegistry {
 public:
  // The pacer of `key` ("proxy/toxic") at `bytes_per_second`; made (starting empty at `now`)
  // when none is alive at that rate.
  std::shared_ptr<SharedBytePacer> Get(const std::string& key, uint64_t bytes_per_second,
                                       MonoTime now);

 private:
  std::mutex mutex_;
  absl::flat_hash_map<std::string, std::weak_ptr<SharedBytePacer>> pacers_;
};

}  // namespace proxynode
