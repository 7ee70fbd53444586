#include "dataplane/config/snapshot_cache.h"

#include <algorithm>

namespace proxynode {

SnapshotRef& SnapshotRef::operator=(SnapshotRef&& other) noexcept {
  if (this != &other) {
    Reset();
    cache_ = other.cache_;
    entry_ = other.entry_;
    other.entry_ = nullptr;
  }
  return *this;
}

const ConfigSnapshot* SnapshotRef::get() const {
  return entry_ == nullptr ? nullptr : entry_->snapshot.get();
}

void SnapshotRef::Reset() {
  if (entry_ != nullptr) {
    cache_->Unpin(entry_);
    entry_ = nullptr;
  }
}

SnapshotCache::SnapshotCache(ConfigSnapshotPtr initial) {
  entries_.push_back(std::make_unique<SnapshotRef::Entry>());
  current_ = entries_.back().get();
  current_->snapshot = std::move(initial);
}

SnapshotCache::~SnapshotCache() = default;

void SnapshotCache::Publish(ConfigSnapshotPtr snapshot) {
  SnapshotRef::Entry* old = current_;
  entries_.push_back(std::make_unique<SnapshotRef::Entry>());
  current_ = entries_.back().get();
  current_->snapshot = std::move(snapshot);
  if (old->pins == 0) {
    Unpin(old);  // frees it: nothing pins it and it is no longer current
  }
}

SnapshotRef SnapshotCache::Pin() {
  ++current_->pins;
  return SnapshotRef(this, current_);
}

void SnapshotCache::Unpin(SnapshotRef::Entry* entry) {
  if (entry->pins > 0) {
    --entry->pins;
  }
  if (entry->pins == 0 && entry != current_) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [entry](const auto& e) { return e.get() == entry; });
    entries_.erase(it);
  }
}

}  // namespace proxynode
