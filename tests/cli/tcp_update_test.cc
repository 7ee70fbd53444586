// The TCP proxy list's read-modify-write against a fake control service in this process,
// which can make another writer land between a read and a write (a lost CAS race): the
// whole list goes with the mask tcp_proxies and the version read, a race is retried on a
// fresh read, a version the user gave is not, a dry run is sent as validate_only, and an
// edit that is refused or changes nothing sends nothing.

#include "cli/tcp_update.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::NodeConfig;
using proxynode::v1::TcpProxy;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TcpProxy Named(const std::string& name) {
  TcpProxy proxy;
  proxy.set_name(name);
  proxy.set_listen("127.0.0.1:1");
  proxy.set_upstream("127.0.0.1:2");
  return proxy;
}

// GetConfig and UpdateConfig over a NodeConfig that starts at version 1 with proxy "first".
class FakeControl final : public proxynode::v1::ControlService::Service {
 public:
  // The next `count` UpdateConfig calls each find that another writer added a proxy
  // ("other-N") and moved the version just before them.
  void RaceNextUpdates(int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    races_ = count;
  }
  int gets() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return gets_;
  }
  std::vector<proxynode::v1::UpdateConfigRequest> updates() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return updates_;
  }
  NodeConfig config() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return config_;
  }

  grpc::Status GetConfig(grpc::ServerContext*, const proxynode::v1::GetConfigRequest*,
                         proxynode::v1::GetConfigResponse* response) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++gets_;
    *response->mutable_config() = config_;
    return grpc::Status::OK;
  }

  grpc::Status UpdateConfig(grpc::ServerContext*, const proxynode::v1::UpdateConfigRequest* request,
                            proxynode::v1::UpdateConfigResponse* response) override {
    std::lock_guard<std::mutex> lock(mutex_);
    updates_.push_back(*request);
    if (races_ > 0) {
      --races_;
      *config_.add_tcp_proxies() = Named("other-" + std::to_string(config_.version()));
      config_.set_version(config_.version() + 1);
    }
    if (request->expected_version() != 0 && request->expected_version() != config_.version()) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "expected_version moved"};
    }
    proxynode::v1::ConfigFieldChange& change = *response->add_diff();
    change.set_field("tcp_proxies");
    if (request->validate_only()) {
      response->set_dry_run(true);
      *response->mutable_config() = config_;
      return grpc::Status::OK;
    }
    *config_.mutable_tcp_proxies() = request->config().tcp_proxies();
    config_.set_version(config_.version() + 1);
    *response->mutable_config() = config_;
    return grpc::Status::OK;
  }

 private:
  mutable std::mutex mutex_;
  NodeConfig config_ = [] {
    NodeConfig config;
    config.set_version(1);
    *config.add_tcp_proxies() = Named("first");
    return config;
  }();
  int races_ = 0;
  int gets_ = 0;
  std::vector<proxynode::v1::UpdateConfigRequest> updates_;
};

class TcpUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    client_ =
        std::make_unique<NodeClient>("127.0.0.1:" + std::to_string(port), std::chrono::seconds(5));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Adds proxy `name` the way `tcp add` does.
  Outcome Add(const std::string& name, TcpUpdateOptions options, TcpUpdate* update) {
    return UpdateTcpProxies(
        *client_, options,
        [&name](TcpProxies& proxies) { return AddTcpProxy(proxies, Named(name)); }, update);
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    const NodeConfig config = fake_.config();
    for (const TcpProxy& proxy : config.tcp_proxies()) names.push_back(proxy.name());
    return names;
  }

  FakeControl fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<NodeClient> client_;
};

TEST_F(TcpUpdateTest, SendsTheWholeListWithMaskTcpProxiesAndTheVersionRead) {
  TcpUpdate update;
  Outcome outcome = Add("mine", {}, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  ASSERT_EQ(fake_.updates().size(), 1u);
  const proxynode::v1::UpdateConfigRequest request = fake_.updates().front();
  EXPECT_THAT(request.update_mask().paths(), ElementsAre("tcp_proxies"));
  EXPECT_EQ(request.expected_version(), 1u);
  EXPECT_FALSE(request.validate_only());
  EXPECT_EQ(request.config().tcp_proxies_size(), 2);
  EXPECT_THAT(Names(), ElementsAre("first", "mine"));
  EXPECT_EQ(update.read.version(), 1u);
  EXPECT_EQ(update.response.config().version(), 2u);
  EXPECT_FALSE(update.response.unchanged());
}

TEST_F(TcpUpdateTest, ALostRaceIsRetriedOnAFreshRead) {
  fake_.RaceNextUpdates(2);
  TcpUpdate update;
  Outcome outcome = Add("mine", {}, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  EXPECT_EQ(fake_.updates().size(), 3u);
  EXPECT_EQ(fake_.gets(), 3);
  EXPECT_THAT(Names(), ElementsAre("first", "other-1", "other-2", "mine"));
  EXPECT_EQ(update.response.config().version(), 4u);
}

TEST_F(TcpUpdateTest, GivesUpAfterFiveAttempts) {
  fake_.RaceNextUpdates(100);
  TcpUpdate update;
  Outcome outcome = Add("mine", {}, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_EQ(outcome.refusal, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(fake_.updates().size(), static_cast<size_t>(kTcpUpdateAttempts));
}

TEST_F(TcpUpdateTest, AVersionTheUserGaveIsSentAsIsAndNotRetried) {
  fake_.RaceNextUpdates(1);
  TcpUpdate update;
  Outcome outcome = Add("mine", {.expected_version = 1}, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_THAT(outcome.error, HasSubstr("FAILED_PRECONDITION: expected_version moved"));
  ASSERT_EQ(fake_.updates().size(), 1u);
  EXPECT_EQ(fake_.gets(), 1);
}

TEST_F(TcpUpdateTest, ADryRunIsSentAsValidateOnly) {
  TcpUpdate update;
  Outcome outcome = Add("mine", {.dry_run = true}, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  ASSERT_EQ(fake_.updates().size(), 1u);
  EXPECT_TRUE(fake_.updates().front().validate_only());
  EXPECT_TRUE(update.response.dry_run());
  EXPECT_THAT(Names(), ElementsAre("first"));
}

TEST_F(TcpUpdateTest, ARefusedEditOrNoChangeSendsNothing) {
  TcpUpdate update;
  Outcome taken = Add("first", {}, &update);
  EXPECT_EQ(taken.exit_code, kExitRefused);
  EXPECT_THAT(taken.error, HasSubstr("a TCP proxy named \"first\" exists"));
  Outcome same = UpdateTcpProxies(
      *client_, {.dry_run = true}, [](TcpProxies&) { return absl::OkStatus(); }, &update);
  ASSERT_TRUE(same.ok()) << same.error;
  EXPECT_TRUE(update.response.unchanged());
  EXPECT_TRUE(update.response.dry_run());
  EXPECT_EQ(update.response.config().version(), 1u);
  EXPECT_TRUE(fake_.updates().empty());
}

}  // namespace
}  // namespace proxyctl
