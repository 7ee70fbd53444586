// Changes made safe and visible (issue 15), against the real binary: a dry run moves
// nothing, an update that changes nothing keeps the version, every answer carries its diff,
// the history keeps who changed what, a rollback restores an earlier config as a new version,
// a declarative update clears what it leaves out, and the audit line names the peer and the
// diff.

#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string BodyOf(uint16_t port) {
  HttpClient client = ConnectTo(port);
  std::optional<HttpResponse> response = client.RoundTrip(GetRequest("/"));
  return response ? response->body : "<no response: " + client.error() + ">";
}

// "field: before -> after" for each line of a diff, for comparisons and messages.
std::vector<std::string> Lines(
    const google::protobuf::RepeatedPtrField<v1::ConfigFieldChange>& diff) {
  std::vector<std::string> lines;
  for (const v1::ConfigFieldChange& change : diff) {
    lines.push_back(change.field() + ": " + change.before() + " -> " + change.after());
  }
  return lines;
}

class ConfigChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start({"--delay=0s", "--workers=1", "--body=start\n"}));
    control_ = std::make_unique<ControlClient>(node_.control_port());
  }

  uint64_t Version() {
    v1::NodeConfig config;
    grpc::Status status = control_->GetConfig(&config);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return config.version();
  }

  grpc::Status SetBody(const std::string& body, v1::UpdateConfigResponse* response,
                       bool dry_run = false) {
    v1::UpdateConfigRequest request;
    request.mutable_config()->set_body(body);
    request.mutable_update_mask()->add_paths("body");
    request.set_validate_only(dry_run);
    return control_->UpdateConfig(request, response);
  }

  grpc::Status History(uint64_t version, v1::GetConfigHistoryResponse* response) {
    v1::GetConfigHistoryRequest request;
    request.set_version(version);
    return control_->stub().GetConfigHistory(control_->NewContext().get(), request, response);
  }

  grpc::Status Rollback(uint64_t to_version, uint64_t expected_version,
                        v1::UpdateConfigResponse* response, bool dry_run = false) {
    v1::RollbackConfigRequest request;
    request.set_to_version(to_version);
    request.set_expected_version(expected_version);
    request.set_validate_only(dry_run);
    return control_->stub().RollbackConfig(control_->NewContext().get(), request, response);
  }

  NodeProcess node_;
  std::unique_ptr<ControlClient> control_;
};

TEST_F(ConfigChangeTest, ADryRunAnswersTheDiffAndMovesNothing) {
  const uint64_t before = Version();
  v1::UpdateConfigResponse response;
  grpc::Status status = SetBody("dry\n", &response, /*dry_run=*/true);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_TRUE(response.dry_run());
  EXPECT_FALSE(response.unchanged());
  EXPECT_THAT(Lines(response.diff()), ::testing::ElementsAre("body: \"start\\n\" -> \"dry\\n\""));
  // The answer shows what would run, at the version that runs.
  EXPECT_EQ(response.config().body(), "dry\n");
  EXPECT_EQ(response.config().version(), before);

  EXPECT_EQ(Version(), before);
  EXPECT_EQ(BodyOf(node_.http_port()), "start\n");
  v1::GetConfigHistoryResponse history;
  ASSERT_TRUE(History(0, &history).ok());
  EXPECT_EQ(history.entries_size(), 1);
}

TEST_F(ConfigChangeTest, ADryRunIsRefusedLikeTheUpdateWouldBe) {
  v1::UpdateConfigRequest request;
  request.mutable_config()->set_workers(1000);
  request.mutable_update_mask()->add_paths("workers");
  request.set_validate_only(true);
  v1::UpdateConfigResponse response;
  grpc::Status status = control_->UpdateConfig(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("workers"));
}

TEST_F(ConfigChangeTest, AnUpdateThatChangesNothingKeepsTheVersion) {
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetBody("one\n", &response).ok());
  const uint64_t version = response.config().version();
  EXPECT_FALSE(response.unchanged());
  EXPECT_THAT(Lines(response.diff()), ::testing::ElementsAre("body: \"start\\n\" -> \"one\\n\""));

  ASSERT_TRUE(SetBody("one\n", &response).ok());
  EXPECT_TRUE(response.unchanged());
  EXPECT_EQ(response.diff_size(), 0);
  EXPECT_EQ(response.config().version(), version);
  EXPECT_EQ(Version(), version);
}

TEST_F(ConfigChangeTest, TheHistoryKeepsEachVersionWithItsSourceAndDiff) {
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetBody("two\n", &response).ok());
  v1::GetConfigHistoryResponse history;
  grpc::Status status = History(0, &history);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(history.entries_size(), 2);
  EXPECT_EQ(history.entries(0).version(), 1u);
  EXPECT_EQ(history.entries(0).source(), v1::ConfigHistoryEntry::STARTUP);
  const v1::ConfigHistoryEntry& update = history.entries(1);
  EXPECT_EQ(update.version(), 2u);
  EXPECT_EQ(update.source(), v1::ConfigHistoryEntry::GRPC);
  EXPECT_THAT(update.origin(), HasSubstr("127.0.0.1"));
  EXPECT_GT(update.applied_at().seconds(), 0);
  EXPECT_THAT(Lines(update.diff()), ::testing::ElementsAre("body: \"start\\n\" -> \"two\\n\""));
  // The list leaves the configs out; one version comes with its config.
  EXPECT_FALSE(update.has_config());
  ASSERT_TRUE(History(1, &history).ok());
  ASSERT_EQ(history.entries_size(), 1);
  EXPECT_EQ(history.entries(0).config().body(), "start\n");
  status = History(99, &history);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
}

TEST_F(ConfigChangeTest, TheHistoryKeepsTheLast32Versions) {
  v1::UpdateConfigResponse response;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(SetBody("body " + std::to_string(i) + "\n", &response).ok());
  }
  v1::GetConfigHistoryResponse history;
  ASSERT_TRUE(History(0, &history).ok());
  ASSERT_EQ(history.entries_size(), 32);
  EXPECT_EQ(history.entries(0).version(), 41u - 31u);
  EXPECT_EQ(history.entries(31).version(), 41u);
  grpc::Status status = Rollback(1, 0, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("keeps versions 10 to 41"));
}

TEST_F(ConfigChangeTest, ARollbackRestoresAnEarlierConfigAsANewVersion) {
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetBody("two\n", &response).ok());
  ASSERT_TRUE(SetBody("three\n", &response).ok());
  ASSERT_EQ(response.config().version(), 3u);

  // A dry run first: it says what it would do and does nothing.
  grpc::Status status = Rollback(0, 0, &response, /*dry_run=*/true);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_THAT(Lines(response.diff()), ::testing::ElementsAre("body: \"three\\n\" -> \"two\\n\""));
  EXPECT_EQ(Version(), 3u);

  // With a stale expected version it is refused like any update.
  status = Rollback(0, 2, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);

  // Unnamed: the version before the running one.
  status = Rollback(0, 3, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().version(), 4u);
  EXPECT_EQ(BodyOf(node_.http_port()), "two\n");

  status = Rollback(1, 0, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().version(), 5u);
  EXPECT_EQ(BodyOf(node_.http_port()), "start\n");

  v1::GetConfigHistoryResponse history;
  ASSERT_TRUE(History(0, &history).ok());
  const v1::ConfigHistoryEntry& last = history.entries(history.entries_size() - 1);
  EXPECT_EQ(last.source(), v1::ConfigHistoryEntry::ROLLBACK);
  EXPECT_EQ(last.restored_version(), 1u);
}

TEST_F(ConfigChangeTest, ADeclarativeUpdateResetsWhatItLeavesOutAndClearsTheRoutes) {
  v1::NodeConfig routed;
  *routed.add_routes() = RespondRoute("/api/");
  routed.set_max_pending(7);
  ASSERT_TRUE(control_->Update(routed, {"routes", "max_pending"}).ok());

  v1::UpdateConfigRequest request;
  request.set_replace(true);
  request.mutable_config()->set_rate_limit(500);
  v1::UpdateConfigResponse response;
  grpc::Status status = control_->UpdateConfig(request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().routes_size(), 0);
  EXPECT_EQ(response.config().rate_limit(), 500u);
  EXPECT_EQ(response.config().max_pending(), 0u);  // the default
  // The body came from a flag: a flag is the default a declarative update returns to.
  EXPECT_EQ(response.config().body(), "start\n");
  std::vector<std::string> lines = Lines(response.diff());
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("max_pending: 7 -> 0")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("rate_limit: 0 -> 500")));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("routes[/api/]: {")));

  // A mask with replace is a contradiction, refused by name.
  request.mutable_update_mask()->add_paths("delay");
  status = control_->UpdateConfig(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask"));
}

TEST_F(ConfigChangeTest, TheAuditLineNamesThePeerAndTheDiff) {
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetBody("audited\n", &response).ok());
  EXPECT_TRUE(node_.WaitForOutput(
      R"("diff":[{"field":"body","before":"\"start\\n\"","after":"\"audited\\n\""}])", 2s))
      << node_.Output();
  const std::string log = node_.Output();
  const std::string line = log.substr(log.rfind("{", log.find("\"config applied\"")));
  EXPECT_THAT(line.substr(0, line.find('\n')), HasSubstr(R"("peer":"ipv4:127.0.0.1:)"));
  EXPECT_THAT(line.substr(0, line.find('\n')), HasSubstr(R"("version":2)"));

  // A refused update leaves a line too, naming the error.
  v1::NodeConfig bad;
  bad.set_workers(1000);
  ASSERT_FALSE(control_->Update(bad, {"workers"}).ok());
  EXPECT_TRUE(node_.WaitForOutput("\"config update refused\"", 2s)) << node_.Output();
  EXPECT_THAT(node_.Output(), HasSubstr("out of range"));
}

TEST_F(ConfigChangeTest, GetConfigShowsTheEffectiveConnectionLimit) {
  v1::GetConfigResponse response;
  grpc::Status status =
      control_->stub().GetConfig(control_->NewContext().get(), v1::GetConfigRequest(), &response);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(response.config().max_connections(), 0u);
  ASSERT_TRUE(response.effective_values().contains("max_connections"));
  EXPECT_GT(std::stoul(response.effective_values().at("max_connections")), 0u);
  EXPECT_EQ(response.watched_config_file(), "");
}

}  // namespace
}  // namespace proxynode::testing
