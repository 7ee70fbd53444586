#pragma once

// The last applied configs, for GetConfigHistory and RollbackConfig: what each version was,
// when it came, who asked and what it changed. The pipeline records every version it
// publishes (and the start-up one); a version's config is the snapshot the workers ran, shared,
// so keeping it costs no copy.
//
// Thread contract: the pipeline's thread records; gRPC threads read. Every call is guarded.

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "controlplane/config_change.h"

namespace proxynode {

struct ConfigHistoryEntry {
  uint64_t version = 0;
  int64_t applied_unix_nanos = 0;
  ConfigSource source = ConfigSource::kStartup;
  std::string origin;
  std::string identity;
  uint64_t restored_version = 0;  // kRollback: the version it restored
  std::vector<v1::ConfigFieldChange> diff;
  ConfigSnapshotPtr config;
};

class ConfigHistory {
 public:
  static constexpr size_t kKept = 32;

  // Keeps `entry`, forgetting the oldest beyond kKept.
  void Record(ConfigHistoryEntry entry);
  // Oldest first.
  std::vector<ConfigHistoryEntry> Entries() const;
  std::optional<ConfigHistoryEntry> Find(uint64_t version) const;
  // The newest kept entry older than `version`; nullopt when none is kept.
  std::optional<ConfigHistoryEntry> Before(uint64_t version) const;

 private:
  mutable std::mutex mutex_;
  std::deque<ConfigHistoryEntry> entries_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace proxynode
