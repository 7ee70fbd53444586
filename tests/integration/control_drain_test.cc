// grpc.health.v1 on the control port, and the Drain RPC: like SIGTERM, health turns
// NOT_SERVING, /readyz 503, in-flight requests finish, and the node exits 0.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kControlService[] = "proxynode.v1.ControlService";

TEST(ControlDrainTest, HealthIsServingAtStart) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  HealthStatus health = HealthStatus::kUnknown;
  grpc::Status status = control.HealthCheck("", &health);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(health, HealthStatus::kServing);
  status = control.HealthCheck("no.such.Service", &health);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
}

// control_server.h: "grpc.health.v1: SERVING or NOT_SERVING (draining), for "" and the
// control service" -- a probe may name the service.
TEST(ControlDrainTest, HealthAnswersForTheControlServiceByName) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  HealthStatus health = HealthStatus::kUnknown;
  grpc::Status status = control.HealthCheck(kControlService, &health);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(health, HealthStatus::kServing);
}

TEST(ControlDrainTest, DrainFinishesInFlightRequestsAndExitsZero) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=500ms", "--workers=2"}));
  ControlClient control(node.control_port());
  HealthStatus health = HealthStatus::kUnknown;
  grpc::Status status = control.HealthCheck("", &health);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(health, HealthStatus::kServing);

  constexpr int kInFlight = 3;
  std::vector<HttpClient> clients;
  ASSERT_TRUE(ConnectAndSend(node.http_port(), kInFlight, GetRequest(), &clients));
  // Every request parsed and waiting on its 500 ms delay.
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::Stats stats;
        return control.GetStats(&stats).ok() &&
               stats.total().requests() >= static_cast<uint64_t>(kInFlight);
      },
      5s, 5ms));

  v1::DrainResponse drained;
  status = control.Drain(&drained);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(drained.connections(), static_cast<uint64_t>(kInFlight));

  // The main thread notices the call within its 100 ms housekeeping tick; the delayed
  // responses keep the node up for a good while after that.
  EXPECT_TRUE(WaitUntil(
      [&] {
        HealthStatus now = HealthStatus::kUnknown;
        return control.HealthCheck("", &now).ok() && now == HealthStatus::kNotServing;
      },
      2s, 10ms))
      << "health never turned NOT_SERVING";
  std::optional<HttpResponse> readyz = node.AdminGet("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 503);
  v1::Stats stats;
  status = control.GetStats(&stats);
  if (status.ok()) {  // the node may be on its way out already
    EXPECT_TRUE(stats.draining());
  }

  for (int i = 0; i < kInFlight; ++i) {
    HttpClient& client = clients[static_cast<size_t>(i)];
    std::optional<HttpResponse> response = client.ReadResponse();
    ASSERT_TRUE(response) << "client " << i << ": " << client.error();
    EXPECT_EQ(response->status, 200) << "client " << i;
    EXPECT_EQ(response->body, "Hello World\n") << "client " << i;
    EXPECT_TRUE(response->ConnectionClose()) << "client " << i;
    EXPECT_TRUE(client.IsClosedByPeer()) << "client " << i << ": " << client.error();
    client.Close();  // ends the node's lingering close at once
  }

  std::optional<ExitStatus> exit = node.WaitExit(10s);
  ASSERT_TRUE(exit) << "still running 10 s after the drain";
  EXPECT_EQ(exit->ToString(), "exit 0");
}

// A stream left open does not keep the node from exiting after a drain.
TEST(ControlDrainTest, DrainWithAWatchStatsStreamOpenStillExitsZero) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  ControlClient control(node.control_port());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::WatchStatsRequest request;
  *request.mutable_interval() = Millis(100);
  std::unique_ptr<grpc::ClientReader<v1::Stats>> stream =
      control.stub().WatchStats(&context, request);
  v1::Stats message;
  ASSERT_TRUE(stream->Read(&message)) << "no first message";
  // Keep reading on another thread until the node ends the stream.
  grpc::Status stream_status;
  std::thread reader([&] {
    v1::Stats next;
    while (stream->Read(&next)) {
    }
    stream_status = stream->Finish();
  });

  v1::DrainResponse drained;
  grpc::Status status = control.Drain(&drained);
  ASSERT_TRUE(status.ok()) << Describe(status);
  std::optional<ExitStatus> exit = node.WaitExit(10s);
  reader.join();
  ASSERT_TRUE(exit) << "still running 10 s after the drain";
  EXPECT_EQ(exit->ToString(), "exit 0");
  EXPECT_NE(stream_status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "the stream outlived the node: " << Describe(stream_status);
}

// UpdateConfig still answers during a drain. Growing the worker count then must not start
// workers that accept connections and never drain: the node still exits once the requests in
// flight are answered, not at --drain_timeout.
TEST(ControlDrainTest, WorkersAddedDuringADrainDoNotHoldUpTheExit) {
  NodeProcess node;
  // 1.5 s: the request must still be waiting when the drain begins, on slow sanitizer builds too.
  ASSERT_TRUE(node.Start({"--delay=1500ms", "--workers=1", "--drain_timeout=30s"}));
  ControlClient control(node.control_port());
  HttpClient in_flight = ConnectTo(node.http_port());
  ASSERT_TRUE(in_flight.Send(GetRequest()));
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::Stats stats;
        return control.GetStats(&stats).ok() && stats.total().requests() >= 1;
      },
      5s, 5ms));

  v1::DrainResponse drained;
  grpc::Status status = control.Drain(&drained);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::Stats stats;
        return control.GetStats(&stats).ok() && stats.draining();
      },
      2s, 5ms));

  v1::NodeConfig change;
  change.set_workers(3);
  status = control.Update(change, {"workers"});
  // Refusing the change or applying it without new listeners are both fine; what follows
  // is what matters.
  SCOPED_TRACE("UpdateConfig during the drain: " + Describe(status));

  std::optional<HttpResponse> response = in_flight.ReadResponse();
  ASSERT_TRUE(response) << in_flight.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->ConnectionClose());
  in_flight.Close();

  std::optional<ExitStatus> exit = node.WaitExit(5s);
  ASSERT_TRUE(exit) << "still running 5 s after the last in-flight response (drain_timeout 30 s)";
  EXPECT_EQ(exit->ToString(), "exit 0");
}

}  // namespace
}  // namespace proxynode::testing
