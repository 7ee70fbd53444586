// The short forms of a rule's other parts: aborts, header matches, abort headers, bandwidth
// units, percentages, expiry durations and times, lists; and their errors, which name the flag.

#include "cli/fault_values.h"

#include <string>
#include <utility>
#include <vector>

#include "cli/stats_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::AbortFault;
using proxynode::v1::HeaderMatch;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error of a refused value: INVALID_ARGUMENT on one line, "FLAG VALUE: ...".
template <typename T>
std::string ErrorOf(const absl::StatusOr<T>& parsed, const std::string& flag,
                    const std::string& value) {
  EXPECT_FALSE(parsed.ok()) << flag << " accepted " << value;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(parsed.status().message());
  EXPECT_THAT(message, StartsWith(flag + " " + value + ": "));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

TEST(FaultValuesTest, EveryAbortForm) {
  struct Case {
    std::string text;
    AbortFault::Kind kind;
    uint32_t status;
    uint64_t after;
  };
  for (const Case& c : std::vector<Case>{{"503", AbortFault::STATUS, 503, 0},
                                         {"200", AbortFault::STATUS, 200, 0},
                                         {"999", AbortFault::STATUS, 999, 0},  // the node's range
                                         {"reset", AbortFault::RESET, 0, 0},
                                         {"reset:after=1024", AbortFault::RESET, 0, 1024},
                                         {"reset:after=1KiB", AbortFault::RESET, 0, 1024},
                                         {"close", AbortFault::CLOSE, 0, 0},
                                         {"cut", AbortFault::CUT, 0, 0},
                                         {"cut:after=100", AbortFault::CUT, 0, 100},
                                         {"silent", AbortFault::SILENT, 0, 0}}) {
    absl::StatusOr<AbortFault> abort = ParseAbort(c.text);
    ASSERT_TRUE(abort.ok()) << c.text << ": " << abort.status();
    EXPECT_EQ(abort->kind(), c.kind) << c.text;
    EXPECT_EQ(abort->status(), c.status) << c.text;
    EXPECT_EQ(abort->after_bytes(), c.after) << c.text;
  }
}

TEST(FaultValuesTest, BadAborts) {
  for (const std::string text : {"5o3", "5030", "50", "", "RESET", "close:after=1", "abort"}) {
    EXPECT_THAT(ErrorOf(ParseAbort(text), "--abort", text),
                HasSubstr("must be a status code like 503, or reset, reset:after=BYTES, close"));
  }
  EXPECT_THAT(ErrorOf(ParseAbort("reset:before=1"), "--abort", "reset:before=1"),
              HasSubstr("reset takes only after=BYTES"));
  EXPECT_THAT(ErrorOf(ParseAbort("cut:after=lots"), "--abort", "cut:after=lots"),
              HasSubstr("after must be a byte count like 100 or 1KiB"));
}

TEST(FaultValuesTest, AbortHeaders) {
  for (const auto& [text, name, value] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"Retry-After: 5", "Retry-After", "5"},
           {"X-A:b", "X-A", "b"},
           {"X-Empty:", "X-Empty", ""},
           {"  X-Pad  :  v w  ", "X-Pad", "v w"}}) {
    absl::StatusOr<AbortFault::Header> header = ParseAbortHeader(text);
    ASSERT_TRUE(header.ok()) << text << ": " << header.status();
    EXPECT_EQ(header->name(), name);
    EXPECT_EQ(header->value(), value);
  }
  for (const std::string text : {"NoColon", ": v", "Bad Name: v"}) {
    EXPECT_THAT(ErrorOf(ParseAbortHeader(text), "--abort-header", text),
                HasSubstr("must be 'Name: value'"));
  }
}

TEST(FaultValuesTest, GrpcStatusByCodeOrName) {
  for (const auto& [text, code] :
       std::vector<std::pair<std::string, uint32_t>>{{"14", 14},
                                                     {"UNAVAILABLE", 14},
                                                     {"unavailable", 14},
                                                     {"0", 0},
                                                     {"OK", 0},
                                                     {"16", 16},
                                                     {"Unauthenticated", 16},
                                                     {"DEADLINE_EXCEEDED", 4}}) {
    absl::StatusOr<uint32_t> parsed = ParseGrpcStatus(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, code) << text;
  }
  for (const std::string text : {"17", "-1", "", "UNAVAILABLE ", "014", "unavail"}) {
    EXPECT_THAT(ErrorOf(ParseGrpcStatus(text), "--abort-grpc-status", text),
                HasSubstr("must be a gRPC status code 0-16 or its name"))
        << text;
  }
}

TEST(FaultValuesTest, HeaderMatchPresentExactAndPrefix) {
  struct Case {
    std::string text;
    HeaderMatch::Kind kind;
    std::string name;
    std::string value;
  };
  for (const Case& c : std::vector<Case>{{"x-flag", HeaderMatch::PRESENT, "x-flag", ""},
                                         {"x-user=test", HeaderMatch::EXACT, "x-user", "test"},
                                         {"x-id=abc*", HeaderMatch::PREFIX, "x-id", "abc"},
                                         {"X-User=Test", HeaderMatch::EXACT, "x-user", "Test"},
                                         {"x-e=", HeaderMatch::EXACT, "x-e", ""},
                                         {"x-q=a=b", HeaderMatch::EXACT, "x-q", "a=b"}}) {
    absl::StatusOr<HeaderMatch> match = ParseHeaderMatch(c.text);
    ASSERT_TRUE(match.ok()) << c.text << ": " << match.status();
    EXPECT_EQ(match->kind(), c.kind) << c.text;
    EXPECT_EQ(match->name(), c.name) << c.text;
    EXPECT_EQ(match->value(), c.value) << c.text;
  }
  for (const std::string text : {"", "=v", "x-user: test", "x user=1"}) {
    EXPECT_THAT(ErrorOf(ParseHeaderMatch(text), "--header", text),
                HasSubstr("must be NAME (present), NAME=VALUE (exact) or NAME=PREFIX* (prefix)"));
  }
}

TEST(FaultValuesTest, BandwidthUnits) {
  for (const auto& [text, bytes] :
       std::vector<std::pair<std::string, uint64_t>>{{"64KiB", 65536},
                                                     {"64KiB/s", 65536},
                                                     {"1MB/s", 1'000'000},
                                                     {"1MiB", 1 << 20},
                                                     {"512B", 512},
                                                     {"100", 100},
                                                     {"1KB", 1000},
                                                     {"2kb/s", 2000},
                                                     {"1GiB/s", 1 << 30}}) {
    absl::StatusOr<uint64_t> parsed = ParseBandwidth(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, bytes) << text;
  }
  for (const std::string text : {"fast", "64KiB/m", "/s", "-1", "1.5MB", "64 KiB"}) {
    EXPECT_THAT(ErrorOf(ParseBandwidth(text), "--bandwidth", text),
                HasSubstr("must be bytes per second like 64KiB, 1MB/s or 512B"));
  }
  for (const std::string text : {"0", "0/s", "0KiB"}) {
    EXPECT_THAT(ErrorOf(ParseBandwidth(text), "--bandwidth", text),
                HasSubstr("must be more than 0 bytes per second"));
  }
}

TEST(FaultValuesTest, Percent) {
  for (const auto& [text, percent] : std::vector<std::pair<std::string, double>>{
           {"25", 25}, {"0.5", 0.5}, {"2%", 2}, {"100", 100}, {"0", 0}, {"150", 150}}) {
    absl::StatusOr<double> parsed = ParsePercent(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(*parsed, percent) << text;
  }
  for (const std::string text :
       {"abc", "", "1e2", "-5", "inf", "nan", "0x10", " 5", "1.2.3", "%"}) {
    EXPECT_THAT(ErrorOf(ParsePercent(text), "--percent", text),
                HasSubstr("must be a number like 25 or 0.5"));
  }
}

TEST(FaultValuesTest, ExpiryDurations) {
  absl::StatusOr<google::protobuf::Duration> ten = ParseFlagDuration("--for", "10m", true);
  ASSERT_TRUE(ten.ok()) << ten.status();
  EXPECT_EQ(ToNanos(*ten), 600'000'000'000);
  EXPECT_THAT(ErrorOf(ParseFlagDuration("--for", "0s", true), "--for", "0s"),
              HasSubstr("must be a duration > 0 like 30s, 10m or 1h30m"));
  EXPECT_THAT(ErrorOf(ParseFlagDuration("--for", "ten", true), "--for", "ten"),
              HasSubstr("must be a duration > 0"));
  EXPECT_TRUE(ParseFlagDuration("--trigger-max-delay", "0s", false).ok());
  EXPECT_THAT(
      ErrorOf(ParseFlagDuration("--trigger-max-delay", "-1s", false), "--trigger-max-delay", "-1s"),
      HasSubstr("must be a duration >= 0"));
}

TEST(FaultValuesTest, UntilIsAnRfc3339TimeInTheFuture) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15
  absl::StatusOr<google::protobuf::Timestamp> utc = ParseUntil("2030-01-02T15:04:05Z", now);
  ASSERT_TRUE(utc.ok()) << utc.status();
  EXPECT_EQ(utc->seconds(), 1'893'596'645);
  EXPECT_EQ(utc->nanos(), 0);
  absl::StatusOr<google::protobuf::Timestamp> offset =
      ParseUntil("2030-01-02T17:04:05.25+02:00", now);
  ASSERT_TRUE(offset.ok()) << offset.status();
  EXPECT_EQ(offset->seconds(), 1'893'596'645);
  EXPECT_EQ(offset->nanos(), 250'000'000);
  EXPECT_THAT(ErrorOf(ParseUntil("2020-01-01T00:00:00Z", now), "--until", "2020-01-01T00:00:00Z"),
              HasSubstr("is not in the future"));
  for (const std::string text : {"tomorrow", "2030-01-02 15:04:05", "2030-01-02", "10m"}) {
    EXPECT_THAT(ErrorOf(ParseUntil(text, now), "--until", text),
                HasSubstr("must be an RFC 3339 time like 2030-01-02T15:04:05Z"));
  }
}

TEST(FaultValuesTest, CommaLists) {
  absl::StatusOr<std::vector<std::string>> list = ParseFlagList("--method", "GET,POST");
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, ::testing::ElementsAre("GET", "POST"));
  for (const std::string text : {"GET,,POST", "", "GET,", ",GET"}) {
    EXPECT_THAT(ErrorOf(ParseFlagList("--method", text), "--method", text),
                HasSubstr("has an empty item"));
  }
}

}  // namespace
}  // namespace proxyctl
