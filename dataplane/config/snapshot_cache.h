#pragma once

// A worker's view of the published configuration. Requests pin the snapshot they were parsed
// under with a SnapshotRef; the count is a plain integer because only the owning loop thread
// touches it (no atomic reference traffic shared between workers per request).
//
// Thread contract: loop thread only.

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/config/config_snapshot.h"

namespace proxynode {

class SnapshotCache;

class SnapshotRef {
 public:
  SnapshotRef() = default;
  SnapshotRef(SnapshotRef&& other) noexcept : cache_(other.cache_), entry_(other.entry_) {
    other.entry_ = nullptr;
  }
  SnapshotRef& operator=(SnapshotRef&& other) noexcept;
  SnapshotRef(const SnapshotRef&) = delete;
  SnapshotRef& operator=(const SnapshotRef&) = delete;
  ~SnapshotRef() { Reset(); }

  const ConfigSnapshot* get() const;
  const ConfigSnapshot* operator->() const { return get(); }
  void Reset();

 private:
  friend class SnapshotCache;
  struct Entry;
  SnapshotRef(SnapshotCache* cache, Entry* entry) : cache_(cache), entry_(entry) {}
  SnapshotCache* cache_ = nullptr;
  Entry* entry_ = nullptr;
};

struct SnapshotRef::Entry {
  ConfigSnapshotPtr snapshot;
  uint64_t pins = 0;
};

class SnapshotCache {
 public:
  explicit SnapshotCache(ConfigSnapshotPtr initial);
  ~SnapshotCache();

  // Makes `snapshot` current; older snapshots live on while requests pin them.
  void Publish(ConfigSnapshotPtr snapshot);
  const ConfigSnapshot& current() const { return *current_->snapshot; }
  SnapshotRef Pin();
  // Snapshots kept alive (current included), for tests.
  size_t live_count() const { return entries_.size(); }

 private:
  friend class SnapshotRef;
  void Unpin(SnapshotRef::Entry* entry);

  std::vector<std::unique_ptr<SnapshotRef::Entry>> entries_;
  SnapshotRef::Entry* current_;
};

}  // namespace proxynode
