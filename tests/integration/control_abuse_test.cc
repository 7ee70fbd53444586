// Bad input on the control port: an oversized message, bytes that are not the message they
// claim to be, a flood of WatchStats streams. Each is refused with a clear status, and the
// node is unaffected: config unchanged, HTTP and other control calls still answered.
// (Absurd values -- a delay of ten years, a million workers -- are in control_config_test.)

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kUpdateConfigMethod[] = "/proxynode.v1.ControlService/UpdateConfig";

// The node still serves HTTP, answers GetConfig at `version`, and its body is `body`.
void ExpectUnaffected(NodeProcess& node, ControlClient& control, uint64_t version,
                      const std::string& body = "Hello World\n") {
  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(config.version(), version);
  EXPECT_EQ(config.body(), body);
  HttpClient client = ConnectTo(node.http_port());
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest());
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, body);
}

TEST(ControlAbuseTest, OversizedUpdateIsRefusedBeforeItIsRead) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  // 5 MiB: over the control server's 4 MiB receive limit (and far over the 1 MiB body limit).
  v1::NodeConfig huge;
  huge.set_body(std::string(5 << 20, 'x'));
  grpc::Status status = control.Update(huge, {"body"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  ExpectUnaffected(node, control, 1);

  // Under the transport limit but over the body limit: refused by validation, naming it.
  v1::NodeConfig large;
  large.set_body(std::string(2 << 20, 'x'));
  status = control.Update(large, {"body"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_NE(status.error_message().find("body"), std::string::npos) << Describe(status);
  ExpectUnaffected(node, control, 1);
}

TEST(ControlAbuseTest, BytesThatAreNotTheMessageAreRefused) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  const std::vector<std::string> garbage = {
      std::string("\xff\xff\xff\xff", 4),  // a tag whose varint never ends
      std::string("\x0a\x7f"
                  "short",
                  7),  // field 1 claims 127 bytes, has 5
      std::string("\x0a\x02\x12\x05"
                  "ab",
                  6),           // a nested length past its parent's end
      std::string(1000, '\0'),  // field number 0 is invalid
  };
  for (const std::string& bytes : garbage) {
    SCOPED_TRACE(::testing::PrintToString(bytes.substr(0, 8)));
    std::string reply;
    grpc::Status status = control.RawUnaryCall(kUpdateConfigMethod, bytes, &reply);
    // gRPC refuses a request it cannot parse before the service sees it; gRPC 1.51's
    // callback API says UNIMPLEMENTED (with no message), other versions INTERNAL.
    EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNIMPLEMENTED ||
                status.error_code() == grpc::StatusCode::INTERNAL)
        << Describe(status);
  }
  ExpectUnaffected(node, control, 1);
}

TEST(ControlAbuseTest, WatchStatsFloodIsCappedAndTheNodeKeepsServing) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=2"}));
  ControlClient control(node.control_port(), 10s);
  constexpr int kCap = 64;  // ControlService::kMaxWatchers
  struct Stream {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::Stats>> reader;
  };
  std::vector<Stream> streams;
  v1::WatchStatsRequest request;
  *request.mutable_interval() = Millis(100);
  // The cap's worth of streams, each seen delivering a first message.
  for (int i = 0; i < kCap; ++i) {
    Stream& stream = streams.emplace_back();
    stream.context = control.NewContext();
    stream.reader = control.stub().WatchStats(stream.context.get(), request);
    v1::Stats first;
    ASSERT_TRUE(stream.reader->Read(&first)) << "stream " << i;
  }
  // Past the cap: refused at once, with the reason.
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<grpc::ClientContext> context = control.NewContext();
    std::unique_ptr<grpc::ClientReader<v1::Stats>> reader =
        control.stub().WatchStats(context.get(), request);
    v1::Stats message;
    EXPECT_FALSE(reader->Read(&message));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(status);
  }
  // Meanwhile everything else works.
  ExpectUnaffected(node, control, 1);
  v1::NodeConfig change;
  change.set_body("still steerable\n");
  grpc::Status updated = control.Update(change, {"body"});
  ASSERT_TRUE(updated.ok()) << Describe(updated);
  ExpectUnaffected(node, control, 2, "still steerable\n");

  // Streams that go away free their places.
  for (Stream& stream : streams) {
    stream.context->TryCancel();
    stream.reader->Finish();
  }
  streams.clear();
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::vector<v1::Stats> messages;
        return control.WatchStats(Millis(100), 1, 5s, &messages).ok() && messages.size() == 1;
      },
      10s));
}

}  // namespace
}  // namespace proxynode::testing
