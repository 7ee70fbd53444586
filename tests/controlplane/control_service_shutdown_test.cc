// The control server stopped while an UpdateConfig waits in the config pipeline (a slow name
// server): the server's Shutdown waits for the call, the pipeline (alive until after it)
// finishes it, and nothing is touched after it is freed. Under ASan and TSan this is the
// use-after-free and race check of the node's shutdown order (proxynode_main.cc's Run).

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "controlplane/config_pipeline.h"
#include "controlplane/control_server.h"
#include "controlplane/control_service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "proxynode/v1/control.grpc.pb.h"
#include "tests/controlplane/serving_dataplane.h"

namespace proxynode {
namespace {

TEST(ControlServiceShutdownTest, StoppingTheServerWithAnUpdateInThePipelineIsClean) {
  std::unique_ptr<Dataplane> dataplane = testing::StartServingDataplane();
  ASSERT_NE(dataplane, nullptr);
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto pipeline = std::make_unique<ConfigPipeline>(*dataplane, [&](NodeConfig&) {
    entered.set_value();
    released.wait_for(std::chrono::seconds(10));  // bounded, so a broken order still ends
    return absl::OkStatus();
  });
  auto service = std::make_unique<ControlService>(*dataplane, *pipeline, [] {});
  absl::StatusOr<std::unique_ptr<ControlServer>> server =
      ControlServer::Start("127.0.0.1:0", *service);
  ASSERT_TRUE(server.ok()) << server.status();

  grpc::Status status;
  v1::UpdateConfigResponse response;
  std::thread client([&] {
    auto stub = v1::ControlService::NewStub(
        grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::UpdateConfigRequest request;
    request.mutable_config()->set_body("changed\n");
    request.mutable_update_mask()->add_paths("body");
    status = stub->UpdateConfig(&context, request, &response);
  });
  entered.get_future().wait();  // the call is inside the pipeline, its reactor unfinished
  std::promise<void> stopped;
  std::thread stopper([&] {
    (*server)->Shutdown();  // waits for the call (and cancels it after its 1 s grace)
    stopped.set_value();
  });
  std::future<void> stop_done = stopped.get_future();
  // The server cannot finish stopping while the pipeline holds the call.
  EXPECT_EQ(stop_done.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  release.set_value();
  stopper.join();
  client.join();
  // Finished by the pipeline (applied), or cancelled by the server's grace running out.
  EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::CANCELLED)
      << status.error_code() << " " << status.error_message();
  server->reset();
  service.reset();
  pipeline.reset();
  dataplane->Stop();
}

}  // namespace
}  // namespace proxynode
