#include "dataplane/relay/shared_pacer_registry.h"

namespace proxynode {

std::shared_ptr<SharedBytePacer> SharedPacerRegistry::Get(const std::string& key,
                                                          uint64_t bytes_per_second, MonoTime now) {
  std::lock_guard<std::mutex> lock(mutex_);
  absl::erase_if(pacers_, [](const auto& entry) { return entry.second.expired(); });
  std::weak_ptr<SharedBytePacer>& slot = pacers_[key];
  std::shared_ptr<SharedBytePacer> pacer = slot.lock();
  if (pacer == nullptr || pacer->rate() != bytes_per_second) {
    pacer = std::make_shared<SharedBytePacer>(bytes_per_second, now);
    slot = pacer;
  }
  return pacer;
}

}  // namespace proxynode
