#include "controlplane/config_watcher.h"

#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/config_map_dir.h"

namespace proxynode {
namespace {

using ::proxynode::testing::ConfigMapDirectory;
namespace fs = std::filesystem;

bool Readable(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, timeout_ms) == 1;
}

TEST(ConfigWatcherTest, SymlinkSwapIsNoticedAndReadOnce) {
  ConfigMapDirectory dir;
  dir.Publish("delay { nanos: 1 }\n");
  auto watcher = ConfigFileWatcher::Create(dir.file(), "delay { nanos: 1 }\n");
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  EXPECT_FALSE(Readable((*watcher)->fd(), 0));

  dir.Publish("delay { nanos: 2 }\n");
  ASSERT_TRUE(Readable((*watcher)->fd(), 2000));
  EXPECT_TRUE((*watcher)->DrainEvents());
  EXPECT_FALSE(Readable((*watcher)->fd(), 0));
  auto changed = (*watcher)->TakeChangedContent();
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_TRUE(changed->has_value());
  EXPECT_EQ(**changed, "delay { nanos: 2 }\n");
  // Seen once: asking again without a change gives nothing.
  auto again = (*watcher)->TakeChangedContent();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST(ConfigWatcherTest, EventsWithTheSameContentAreNotAChange) {
  ConfigMapDirectory dir;
  dir.Publish("workers: 2\n");
  auto watcher = ConfigFileWatcher::Create(dir.file(), "workers: 2\n");
  ASSERT_TRUE(watcher.ok());
  dir.Publish("workers: 2\n");
  ASSERT_TRUE(Readable((*watcher)->fd(), 2000));
  (*watcher)->DrainEvents();
  auto changed = (*watcher)->TakeChangedContent();
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->has_value());
}

TEST(ConfigWatcherTest, InPlaceRewriteIsNoticed) {
  ConfigMapDirectory dir;
  dir.Publish("");
  const std::string plain = fs::path(dir.file()).parent_path() / "plain.textproto";
  std::ofstream(plain) << "workers: 1\n";
  auto watcher = ConfigFileWatcher::Create(plain, "workers: 1\n");
  ASSERT_TRUE(watcher.ok());
  std::ofstream(plain, std::ios::trunc) << "workers: 3\n";
  ASSERT_TRUE(Readable((*watcher)->fd(), 2000));
  (*watcher)->DrainEvents();
  auto changed = (*watcher)->TakeChangedContent();
  ASSERT_TRUE(changed.ok());
  ASSERT_TRUE(changed->has_value());
  EXPECT_EQ(**changed, "workers: 3\n");
}

TEST(ConfigWatcherTest, MissingFileIsAnErrorNamingThePath) {
  ConfigMapDirectory dir;
  dir.Publish("workers: 2\n");
  auto watcher = ConfigFileWatcher::Create(dir.file(), "workers: 2\n");
  ASSERT_TRUE(watcher.ok());
  dir.RemoveData();
  ASSERT_TRUE(Readable((*watcher)->fd(), 2000));
  (*watcher)->DrainEvents();
  auto changed = (*watcher)->TakeChangedContent();
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.status().message().find(dir.file()), std::string_view::npos);
  // Put back with new content: noticed.
  dir.Publish("workers: 4\n");
  ASSERT_TRUE(Readable((*watcher)->fd(), 2000));
  (*watcher)->DrainEvents();
  auto back = (*watcher)->TakeChangedContent();
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, "workers: 4\n");
}

TEST(ConfigWatcherTest, DirectoryThatDoesNotExistIsRefused) {
  auto watcher = ConfigFileWatcher::Create("/nonexistent-dir-for-test/p.textproto", "");
  ASSERT_FALSE(watcher.ok());
  EXPECT_NE(watcher.status().message().find("/nonexistent-dir-for-test"), std::string_view::npos);
}

}  // namespace
}  // namespace proxynode
