#include "dataplane/config/snapshot_cache.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "dataplane/config/config_snapshot.h"

namespace proxynode {
namespace {

ConfigSnapshotPtr MakeConfig(uint64_t version) {
  auto config = std::make_shared<NodeConfig>();
  config->version = version;
  return config;
}

TEST(SnapshotCacheTest, StartsWithTheInitialSnapshot) {
  SnapshotCache cache(MakeConfig(1));
  EXPECT_EQ(cache.current().version, 1u);
  EXPECT_EQ(cache.live_count(), 1u);
}

TEST(SnapshotCacheTest, PublishReplacesAnUnpinnedSnapshot) {
  ConfigSnapshotPtr v1 = MakeConfig(1);
  std::weak_ptr<const ConfigSnapshot> weak_v1 = v1;
  SnapshotCache cache(std::move(v1));
  cache.Publish(MakeConfig(2));
  EXPECT_EQ(cache.current().version, 2u);
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_TRUE(weak_v1.expired());
}

TEST(SnapshotCacheTest, PinKeepsAnOldSnapshotAliveAfterPublish) {
  ConfigSnapshotPtr v1 = MakeConfig(1);
  std::weak_ptr<const ConfigSnapshot> weak_v1 = v1;
  SnapshotCache cache(std::move(v1));

  SnapshotRef ref = cache.Pin();
  ASSERT_NE(ref.get(), nullptr);
  EXPECT_EQ(ref->version, 1u);

  cache.Publish(MakeConfig(2));
  EXPECT_EQ(cache.current().version, 2u);  // current() is the newest
  EXPECT_EQ(ref->version, 1u);             // the pin still sees its own
  EXPECT_EQ(cache.live_count(), 2u);
  EXPECT_FALSE(weak_v1.expired());

  ref.Reset();  // last pin gone: the old snapshot is freed
  EXPECT_EQ(ref.get(), nullptr);
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_TRUE(weak_v1.expired());
  EXPECT_EQ(cache.current().version, 2u);
}

TEST(SnapshotCacheTest, LiveCountDropsOnlyWhenTheLastPinGoes) {
  SnapshotCache cache(MakeConfig(1));
  auto a = std::make_unique<SnapshotRef>(cache.Pin());
  auto b = std::make_unique<SnapshotRef>(cache.Pin());
  cache.Publish(MakeConfig(2));
  EXPECT_EQ(cache.live_count(), 2u);
  a.reset();
  EXPECT_EQ(cache.live_count(), 2u);
  EXPECT_EQ((*b)->version, 1u);
  b.reset();
  EXPECT_EQ(cache.live_count(), 1u);
}

TEST(SnapshotCacheTest, UnpinningTheCurrentSnapshotKeepsIt) {
  SnapshotCache cache(MakeConfig(1));
  {
    SnapshotRef ref = cache.Pin();
    EXPECT_EQ(cache.live_count(), 1u);
  }
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_EQ(cache.current().version, 1u);
  // The current snapshot can be pinned and released again.
  SnapshotRef again = cache.Pin();
  EXPECT_EQ(again->version, 1u);
}

TEST(SnapshotCacheTest, SeveralGenerations) {
  SnapshotCache cache(MakeConfig(1));
  SnapshotRef p1 = cache.Pin();
  cache.Publish(MakeConfig(2));
  SnapshotRef p2 = cache.Pin();
  cache.Publish(MakeConfig(3));
  cache.Publish(MakeConfig(4));  // 3 was never pinned: freed right away
  EXPECT_EQ(cache.live_count(), 3u);
  EXPECT_EQ(p1->version, 1u);
  EXPECT_EQ(p2->version, 2u);
  EXPECT_EQ(cache.current().version, 4u);

  p1.Reset();
  EXPECT_EQ(cache.live_count(), 2u);
  EXPECT_EQ(p2->version, 2u);
  p2.Reset();
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_EQ(cache.current().version, 4u);
}

TEST(SnapshotCacheTest, RePinningAfterPublishSeesTheNewest) {
  SnapshotCache cache(MakeConfig(1));
  SnapshotRef old_ref = cache.Pin();
  cache.Publish(MakeConfig(2));
  SnapshotRef new_ref = cache.Pin();
  EXPECT_EQ(old_ref->version, 1u);
  EXPECT_EQ(new_ref->version, 2u);
}

TEST(SnapshotCacheTest, MoveConstructionTransfersThePin) {
  SnapshotCache cache(MakeConfig(1));
  SnapshotRef a = cache.Pin();
  SnapshotRef b(std::move(a));
  EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  ASSERT_NE(b.get(), nullptr);
  EXPECT_EQ(b->version, 1u);

  cache.Publish(MakeConfig(2));
  EXPECT_EQ(cache.live_count(), 2u);
  a.Reset();  // owns nothing: must not unpin
  EXPECT_EQ(cache.live_count(), 2u);
  b.Reset();
  EXPECT_EQ(cache.live_count(), 1u);
}

TEST(SnapshotCacheTest, MoveAssignmentTransfersThePinAndReleasesTheOldOne) {
  SnapshotCache cache(MakeConfig(1));
  SnapshotRef old_pin = cache.Pin();
  cache.Publish(MakeConfig(2));
  SnapshotRef target = cache.Pin();  // pins 2
  cache.Publish(MakeConfig(3));
  EXPECT_EQ(cache.live_count(), 3u);

  target = std::move(old_pin);        // releases 2 (freed: unpinned, not current), holds 1
  EXPECT_EQ(old_pin.get(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(target->version, 1u);
  EXPECT_EQ(cache.live_count(), 2u);

  target = SnapshotRef();  // releases 1
  EXPECT_EQ(target.get(), nullptr);
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_EQ(cache.current().version, 3u);
}

TEST(SnapshotCacheTest, DefaultRefIsEmpty) {
  SnapshotRef ref;
  EXPECT_EQ(ref.get(), nullptr);
  ref.Reset();
  EXPECT_EQ(ref.get(), nullptr);
}

TEST(SnapshotCacheTest, ManyPinsAcrossManyPublishes) {
  SnapshotCache cache(MakeConfig(0));
  std::vector<SnapshotRef> refs;
  for (uint64_t v = 1; v <= 100; ++v) {
    refs.push_back(cache.Pin());
    refs.push_back(cache.Pin());
    cache.Publish(MakeConfig(v));
  }
  EXPECT_EQ(cache.live_count(), 101u);
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(refs[i]->version, i / 2);
  }
  // Release out of order: every other pin first, then the rest.
  for (size_t i = 0; i < refs.size(); i += 2) {
    refs[i].Reset();
  }
  EXPECT_EQ(cache.live_count(), 101u);
  for (size_t i = 1; i < refs.size(); i += 2) {
    refs[i].Reset();
  }
  EXPECT_EQ(cache.live_count(), 1u);
  EXPECT_EQ(cache.current().version, 100u);
}

}  // namespace
}  // namespace proxynode
