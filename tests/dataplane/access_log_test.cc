// The access log: a line's JSON whatever the request, sampling, pooled records, the writer
// thread, and lines dropped (and counted) when a worker outruns it.

#include "dataplane/server/access_log.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

using ::testing::HasSubstr;

TEST(AccessLineTest, FieldsAreJsonAndTextIsEscaped) {
  AccessLine line;
  line.AddTime("time", 1'765'108'800'123'456'789);  // 2025-12-07T12:00:00.123456Z
  line.AddText("target", "/a\"b\\c\x01\xff");
  line.AddInteger("status", 200);
  line.AddMillis("duration_ms", 100'412'345);
  line.AddMillis("delay_ms", 0);
  EXPECT_EQ(line.Finish(),
            "{\"time\":\"2025-12-07T12:00:00.123456Z\",\"target\":\"/a\\\"b\\\\c\\u0001\\u00ff\","
            "\"status\":200,\"duration_ms\":100.412,\"delay_ms\":0.000}\n");
}

TEST(AccessLineTest, ALongTargetIsCutAndTheLineStaysValid) {
  AccessLine line;
  line.AddText("target", std::string(5000, '\x01'));  // 6 bytes each once escaped
  line.AddInteger("status", 200);
  const std::string text(line.Finish());
  EXPECT_LE(text.size(), AccessLine::kCapacity);
  EXPECT_THAT(text, ::testing::EndsWith("...\",\"status\":200}\n"));
  line.Clear();
  line.AddText("target", std::string(2000, 'x'));
  const std::string cut(line.Finish());
  EXPECT_THAT(cut, HasSubstr(std::string(AccessLine::kMaxText, 'x') + "...\"}"));
}

class AccessLogTest : public ::testing::Test {
 protected:
  // One file per test: ctest runs the tests of this file in parallel.
  std::string path_ = (std::filesystem::path(::testing::TempDir()) /
                       (std::string("access_log_test_") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log"))
                          .string();
  void SetUp() override { std::filesystem::remove(path_); }
  std::string Read() {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

TEST_F(AccessLogTest, EachRequestIsOneLineWithHowItWent) {
  absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open(path_, 1.0);
  ASSERT_TRUE(log.ok()) << log.status();
  {
    AccessRecorder recorder(log->get());
    ASSERT_TRUE(recorder.enabled());
    absl::StatusOr<SocketAddress> peer = ParseSocketAddress("127.0.0.1:5000");
    ASSERT_TRUE(peer.ok());
    const MonoTime started = MonotonicNow();
    AccessRecord* record = recorder.Begin(started, HttpMethod::kPost, "/api/x?y=1", 120);
    ASSERT_NE(record, nullptr);
    record->peer = *peer;
    record->delay = 100 * kMillisecond;
    record->route = "/api/";
    record->fault = "slow";
    recorder.Finish(record, 503,
                    {.bytes_out = 42, .upstream = "10.0.0.1:80", .upstream_time = 2 * kMillisecond},
                    started + 102 * kMillisecond);
  }
  log->reset();  // writes what is left
  const std::string text = Read();
  EXPECT_THAT(text, ::testing::MatchesRegex(
                        "\\{\"time\":\"[-0-9T:.]+Z\",\"peer\":\"127.0.0.1:5000\",\"method\":"
                        "\"POST\",\"target\":\"/api/x\\?y=1\",\"status\":503,\"bytes_in\":120,"
                        "\"bytes_out\":42,\"duration_ms\":102.000,\"delay_ms\":100.000,"
                        "\"route\":\"/api/\",\"upstream\":\"10.0.0.1:80\",\"upstream_ms\":2.000,"
                        "\"fault\":\"slow\"\\}\n"));
}

TEST_F(AccessLogTest, ASampleLogsThatShareExactlyAndReusesRecords) {
  absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open(path_, 0.01);
  ASSERT_TRUE(log.ok());
  AccessRecorder recorder(log->get());
  int logged = 0;
  AccessRecord* first = nullptr;
  for (int i = 0; i < 1000; ++i) {
    AccessRecord* record = recorder.Begin(MonotonicNow(), HttpMethod::kGet, "/", 0);
    if (record == nullptr) continue;
    ++logged;
    if (first == nullptr) first = record;
    EXPECT_EQ(record, first);  // the pooled record comes back
    recorder.Finish(record, 200, {}, MonotonicNow());
  }
  EXPECT_EQ(logged, 10);
}

TEST_F(AccessLogTest, AWorkerThatOutrunsTheWriterDropsLinesAndCountsThem) {
  // A writer that does not drain before it stops: the ring must fill.
  absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open(path_, 1.0, 3600 * kSecond);
  ASSERT_TRUE(log.ok());
  constexpr int kLines = 4000;
  {
    // A worker's recorder ends before the log, as in the data plane.
    AccessRecorder recorder(log->get());
    const std::string target(900, 't');
    // Far more than a ring holds.
    for (int i = 0; i < kLines; ++i) {
      recorder.Finish(recorder.Begin(MonotonicNow(), HttpMethod::kGet, target, 0), 200, {},
                      MonotonicNow());
    }
  }
  const uint64_t dropped = (*log)->dropped();
  EXPECT_GT(dropped, 0u);
  log->reset();
  const std::string text = Read();
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines + dropped, static_cast<size_t>(kLines));
}

TEST(AccessLogOpenTest, BadDestinationsAndSamplesAreRefusedByName) {
  absl::StatusOr<std::unique_ptr<AccessLog>> log = AccessLog::Open("/no/such/dir/x.log", 1.0);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("--access_log /no/such/dir/x.log"));
  for (double sample : {0.0, -1.0, 1.5}) {
    log = AccessLog::Open("stdout", sample);
    ASSERT_FALSE(log.ok()) << sample;
    EXPECT_THAT(std::string(log.status().message()), HasSubstr("--access_log_sample"));
  }
}

}  // namespace
}  // namespace proxynode
