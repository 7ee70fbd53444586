// The rule list's read-modify-write against a fake control service in this process, which
// can make another writer land between a read and a write (a lost CAS race) on demand, or
// refuse as a draining node does: a race is retried on a fresh read up to five attempts, a
// version the user gave is not, and an edit that is refused or changes nothing sends nothing.

#include "cli/fault_update.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::FaultRule;
using proxynode::v1::NodeConfig;
using ::testing::ElementsAre;

FaultRule Named(const std::string& name) {
  FaultRule rule;
  rule.set_name(name);
  return rule;
}

// GetConfig and UpdateConfig over a NodeConfig that starts at version 1.
class FakeControl final : public proxynode::v1::ControlService::Service {
 public:
  // The next `count` UpdateConfig calls each find that another writer added a rule
  // ("other-N") and moved the version just before them.
  void RaceNextUpdates(int count) {
    std::lock_guard<std::mutex> lock(mutex_);
    races_ = count;
  }
  // Refuse every update with FAILED_PRECONDITION, the version unmoved (a draining node).
  void Drain() {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
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
    if (draining_) return {grpc::StatusCode::FAILED_PRECONDITION, "the node is draining"};
    if (races_ > 0) {
      --races_;
      *config_.add_faults() = Named("other-" + std::to_string(config_.version()));
      config_.set_version(config_.version() + 1);
    }
    if (request->expected_version() != 0 && request->expected_version() != config_.version()) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "expected_version moved"};
    }
    *config_.mutable_faults() = request->config().faults();
    config_.set_version(config_.version() + 1);
    *response->mutable_config() = config_;
    return grpc::Status::OK;
  }

 private:
  mutable std::mutex mutex_;
  NodeConfig config_ = [] {
    NodeConfig config;
    config.set_version(1);
    *config.add_faults() = Named("first");
    return config;
  }();
  int races_ = 0;
  bool draining_ = false;
  int gets_ = 0;
  std::vector<proxynode::v1::UpdateConfigRequest> updates_;
};

class FaultUpdateTest : public ::testing::Test {
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

  // Adds rule `name` the way `fault add` does.
  Outcome Add(const std::string& name, uint64_t expected_version, FaultUpdate* update) {
    return UpdateFaults(
        *client_, expected_version,
        [&name](FaultRules& rules) {
          bool replaced = false;
          return PutFaultRule(rules, Named(name), false, &replaced);
        },
        update);
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    const NodeConfig config = fake_.config();
    for (const FaultRule& rule : config.faults()) names.push_back(rule.name());
    return names;
  }

  FakeControl fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<NodeClient> client_;
};

TEST_F(FaultUpdateTest, SendsTheWholeListWithMaskFaultsAndTheVersionRead) {
  FaultUpdate update;
  Outcome outcome = Add("mine", 0, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  ASSERT_EQ(fake_.updates().size(), 1u);
  const proxynode::v1::UpdateConfigRequest request = fake_.updates().front();
  EXPECT_THAT(request.update_mask().paths(), ElementsAre("faults"));
  EXPECT_EQ(request.expected_version(), 1u);
  EXPECT_EQ(request.config().faults_size(), 2);
  EXPECT_THAT(Names(), ElementsAre("first", "mine"));
  EXPECT_TRUE(update.changed);
  EXPECT_EQ(update.read.version(), 1u);
  EXPECT_EQ(update.applied.version(), 2u);
}

TEST_F(FaultUpdateTest, ALostRaceIsRetriedOnAFreshRead) {
  fake_.RaceNextUpdates(2);
  FaultUpdate update;
  Outcome outcome = Add("mine", 0, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  EXPECT_EQ(fake_.updates().size(), 3u);
  EXPECT_EQ(fake_.gets(), 3);
  // The other writers' rules are kept: the edit was made again on what they left.
  EXPECT_THAT(Names(), ElementsAre("first", "other-1", "other-2", "mine"));
  EXPECT_EQ(update.applied.version(), 4u);
}

TEST_F(FaultUpdateTest, GivesUpAfterFiveAttempts) {
  fake_.RaceNextUpdates(100);
  FaultUpdate update;
  Outcome outcome = Add("mine", 0, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_EQ(outcome.refusal, grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(fake_.updates().size(), static_cast<size_t>(kFaultUpdateAttempts));
}

TEST_F(FaultUpdateTest, AVersionTheUserGaveIsSentAsIsAndNotRetried) {
  fake_.RaceNextUpdates(1);
  FaultUpdate update;
  Outcome outcome = Add("mine", 1, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_THAT(outcome.error, ::testing::HasSubstr("FAILED_PRECONDITION: expected_version moved"));
  ASSERT_EQ(fake_.updates().size(), 1u);
  EXPECT_EQ(fake_.updates().front().expected_version(), 1u);
  EXPECT_EQ(fake_.gets(), 1);

  FaultUpdate again;
  Outcome ok = Add("mine", 2, &again);  // the version the racing writer left
  EXPECT_TRUE(ok.ok()) << ok.error;
}

TEST_F(FaultUpdateTest, ARefusalWithTheVersionUnmovedIsNoRace) {
  fake_.Drain();
  FaultUpdate update;
  Outcome outcome = Add("mine", 0, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_THAT(outcome.error, ::testing::HasSubstr("the node is draining"));
  EXPECT_EQ(fake_.updates().size(), 1u);
  EXPECT_EQ(fake_.gets(), 2);  // read again: the version had not moved
}

TEST_F(FaultUpdateTest, ARefusedEditSendsNothing) {
  FaultUpdate update;
  Outcome outcome = Add("first", 0, &update);
  EXPECT_EQ(outcome.exit_code, kExitRefused);
  EXPECT_THAT(outcome.error, ::testing::HasSubstr("a fault rule named \"first\" exists"));
  EXPECT_TRUE(fake_.updates().empty());
}

TEST_F(FaultUpdateTest, AnEditThatChangesNothingSendsNothing) {
  FaultUpdate update;
  Outcome outcome = UpdateFaults(
      *client_, 0, [](FaultRules&) { return absl::OkStatus(); }, &update);
  ASSERT_TRUE(outcome.ok()) << outcome.error;
  EXPECT_FALSE(update.changed);
  EXPECT_EQ(update.applied.version(), 1u);
  EXPECT_TRUE(fake_.updates().empty());
}

}  // namespace
}  // namespace proxyctl
