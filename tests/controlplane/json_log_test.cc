#include "controlplane/json_log.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

const absl::Time kTime =
    absl::FromUnixMicros(1'795'000'000'123'456);  // 2026-11-18T11:06:40.123456Z

std::string Escaped(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(JsonLogTest, RecordHasTimeLevelMessageThenFieldsInOrder) {
  std::string line = FormatLogRecord(kTime, LogLevel::kWarning, "config refused",
                                     {{"path", "/etc/p.textproto"},
                                      {"version", uint64_t{7}},
                                      {"delta", -3},
                                      {"ratio", 0.25},
                                      {"ok", false}});
  EXPECT_EQ(line,
            "{\"time\":\"2026-11-18T11:06:40.123456Z\",\"level\":\"warning\","
            "\"message\":\"config refused\",\"path\":\"/etc/p.textproto\",\"version\":7,"
            "\"delta\":-3,\"ratio\":0.25,\"ok\":false}");
}

TEST(JsonLogTest, NumbersThatJsonCannotHoldBecomeNull) {
  std::string line = FormatLogRecord(kTime, LogLevel::kInfo, "m", {{"x", 1.0 / 0.0}});
  EXPECT_NE(line.find("\"x\":null}"), std::string::npos) << line;
}

TEST(JsonLogTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Escaped("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Escaped("line\nnext\r\t"), "\"line\\nnext\\r\\t\"");
  EXPECT_EQ(Escaped(std::string("nul\0bell\x07"
                                "del\x7f",
                                13)),
            "\"nul\\u0000bell\\u0007del\\u007f\"");
}

TEST(JsonLogTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Escaped("bad\xff"), "\"bad\\ufffd\"");
  EXPECT_EQ(Escaped("\xc3"), "\"\\ufffd\"");                                   // truncated sequence
  EXPECT_EQ(Escaped("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                        // overlong '/'
  EXPECT_EQ(Escaped("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");             // UTF-16 surrogate
  EXPECT_EQ(Escaped("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
}

TEST(JsonLogTest, ParsesLevelNames) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  absl::StatusOr<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("verbose"), std::string_view::npos);
  EXPECT_NE(bad.status().message().find("debug, info, warning or error"), std::string_view::npos);
}

// Log writes whole lines to the output and drops records below the level.
TEST(JsonLogTest, LogFiltersByLevelAndWritesOneLinePerRecord) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  SetLogOutput(pipe_fds[1]);
  SetLogLevel(LogLevel::kWarning);
  LogInfo("dropped");
  LogWarning("kept", {{"n", 1}});
  LogError("also kept");
  SetLogOutput(STDOUT_FILENO);
  SetLogLevel(LogLevel::kInfo);
  close(pipe_fds[1]);
  std::string written;
  char buffer[1024];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) {
    written.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  EXPECT_EQ(written.find("dropped"), std::string::npos) << written;
  ASSERT_EQ(std::count(written.begin(), written.end(), '\n'), 2) << written;
  EXPECT_NE(written.find("\"level\":\"warning\",\"message\":\"kept\",\"n\":1}\n"),
            std::string::npos)
      << written;
  EXPECT_NE(written.find("\"level\":\"error\",\"message\":\"also kept\"}\n"), std::string::npos)
      << written;
}

}  // namespace
}  // namespace proxynode
