#include "dataplane/stats/process_stats.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>

namespace proxynode {
namespace {

// Field 22 is starttime, counted after the command name, which may hold spaces and ')'.
constexpr char kSelfStat[] =
    "4242 (proxy node) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 12 7 0 0 20 0 3 0 "
    "123456 210000000 2500 18446744073709551615\n";
constexpr char kProcStat[] =
    "cpu  10 20 30 40 0 0 0 0 0 0\n"
    "intr 1 2 3\n"
    "btime 1764300000\n"
    "processes 99\n";

TEST(ProcessStatsTest, StartTimeIsBootTimePlusStartTicks) {
  const std::optional<double> start = ProcessStartTime(kSelfStat, kProcStat, 100);
  ASSERT_TRUE(start);
  EXPECT_DOUBLE_EQ(*start, 1764300000 + 1234.56);
}

TEST(ProcessStatsTest, StartTimeRefusesWhatDoesNotParse) {
  EXPECT_FALSE(ProcessStartTime("4242 (node) S 1 2", kProcStat, 100));  // too few fields
  EXPECT_FALSE(ProcessStartTime(kSelfStat, "cpu 1 2 3\n", 100));        // no btime
  EXPECT_FALSE(ProcessStartTime("no parenthesis", kProcStat, 100));
  EXPECT_FALSE(ProcessStartTime(kSelfStat, kProcStat, 0));
}

TEST(ProcessStatsTest, StatmIsInPages) {
  const std::optional<ProcessMemory> memory = ParseStatm("2500 300 100 1 0 400 0\n", 4096);
  ASSERT_TRUE(memory);
  EXPECT_EQ(memory->virtual_bytes, 2500u * 4096);
  EXPECT_EQ(memory->resident_bytes, 300u * 4096);
  EXPECT_FALSE(ParseStatm("", 4096));
  EXPECT_FALSE(ParseStatm("12 x", 4096));
}

// This very process, read the way /metrics reads the node.
TEST(ProcessStatsTest, ReadsThisProcess) {
  const ProcessStats stats = ReadProcessStats();
  EXPECT_GT(stats.resident_memory_bytes, 0u);
  EXPECT_GE(stats.virtual_memory_bytes, stats.resident_memory_bytes);
  EXPECT_GE(stats.open_fds, 3u);  // stdin, stdout, stderr at least
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(stats.max_fds, limit.rlim_cur);
  EXPECT_GE(stats.cpu_seconds, 0.0);
  // Started before now, and not before the machine booted a year ago.
  const auto now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(stats.start_time_seconds, now + 1);
  EXPECT_GT(stats.start_time_seconds, now - 365.0 * 24 * 3600);
}

// A descriptor opened shows in the count, and goes when closed.
TEST(ProcessStatsTest, OpenFdsFollowOpenFiles) {
  const uint64_t before = ReadProcessStats().open_fds;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(ReadProcessStats().open_fds, before + 2);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(ReadProcessStats().open_fds, before);
}

}  // namespace
}  // namespace proxynode
