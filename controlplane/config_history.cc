#include "controlplane/config_history.h"

#include <utility>

namespace proxynode {

void ConfigHistory::Record(ConfigHistoryEntry entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.push_back(std::move(entry));
  while (entries_.size() > kKept) {
    entries_.pop_front();
  }
}

std::vector<ConfigHistoryEntry> ConfigHistory::Entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {entries_.begin(), entries_.end()};
}

std::optional<ConfigHistoryEntry> ConfigHistory::Find(uint64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ConfigHistoryEntry& entry : entries_) {
    if (entry.version == version) {
      return entry;
    }
  }
  return std::nullopt;
}

std::optional<ConfigHistoryEntry> ConfigHistory::Before(uint64_t version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->version < version) {
      return *it;
    }
  }
  return std::nullopt;
}

}  // namespace proxynode
