// The capped file read: a whole small file, a file over the cap, a path that cannot be read.

#include "common/bounded_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

class BoundedFileTest : public ::testing::Test {
 protected:
  // A file in the test's temporary directory holding `content`; its path.
  std::string Write(const std::string& content) {
    std::ofstream(path_, std::ios::binary) << content;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Its own name per test and process: ctest runs each test as a process of its own, in
  // parallel.
  const std::string path_ = ::testing::TempDir() + "bounded_file_test_" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                            std::to_string(getpid()) + ".txt";
};

TEST_F(BoundedFileTest, ReadsASmallFileWhole) {
  // Larger than the 16 KiB read buffer, so the read loops.
  const std::string content = std::string(40'000, 'x') + "end";
  std::string text = "left over";
  EXPECT_EQ(ReadBoundedFile(Write(content), 1 << 20, &text), std::nullopt);
  EXPECT_EQ(text, content);
}

TEST_F(BoundedFileTest, AFileOverTheCapIsRefused) {
  std::string text;
  std::optional<std::string> problem =
      ReadBoundedFile(Write(std::string((1 << 20) + 1, 'x')), 1 << 20, &text);
  EXPECT_EQ(problem, "larger than 1 MiB");
}

TEST_F(BoundedFileTest, AFileAtTheCapIsRead) {
  std::string text;
  EXPECT_EQ(ReadBoundedFile(Write(std::string(1 << 20, 'x')), 1 << 20, &text), std::nullopt);
  EXPECT_EQ(text.size(), size_t{1} << 20);
}

TEST_F(BoundedFileTest, AMissingFileSaysWhy) {
  std::string text;
  EXPECT_EQ(ReadBoundedFile(path_ + ".missing", 1 << 20, &text),
            "cannot read it (No such file or directory)");
}

TEST_F(BoundedFileTest, ADirectoryCannotBeRead) {
  std::string text;
  EXPECT_EQ(ReadBoundedFile(::testing::TempDir(), 1 << 20, &text),
            "cannot read it (Is a directory)");
}

}  // namespace
}  // namespace proxynode
