// Fault rules as config against the real binary (issue 18): a rule reads back as it was set
// (defaults filled in, expires_after turned into expires_at), and rules the node cannot
// carry out are refused whole with INVALID_ARGUMENT naming the rule, the config (and its
// version) left as it was, and the requests served as before.

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/fault_fixture.h"
#include "tests/testing/fault_probe.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;

class FaultConfigTest : public FaultFixture {};

TEST_F(FaultConfigTest, ARuleReadsBackAsItWasSet) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = StatusRule("full", 502);
  rule.mutable_match()->set_path_prefix("/api/");
  rule.mutable_match()->add_methods("get");
  *rule.mutable_match()->add_headers() = Header("X-User", v1::HeaderMatch::EXACT, "test");
  rule.mutable_match()->add_clients("10.0.0.0/8");
  rule.mutable_abort()->set_body("down\n");
  v1::DelayDistribution* distribution = rule.mutable_delay()->mutable_distribution();
  *distribution->mutable_lognormal()->mutable_median() = Millis(40);
  *distribution->mutable_lognormal()->mutable_p99() = Millis(900);
  rule.mutable_delay()->set_target(v1::DelayFault::FIRST_BYTE);
  *rule.mutable_expires_after() = Millis(3'600'000);
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(SetFaults({rule}, /*max_active_faults=*/7, /*fault_seed=*/99, &response));

  v1::NodeConfig config;
  ASSERT_TRUE(control_->GetConfig(&config).ok());
  EXPECT_EQ(config.version(), response.config().version());
  EXPECT_EQ(config.max_active_faults(), 7u);
  EXPECT_EQ(config.fault_seed(), 99u);
  ASSERT_EQ(config.faults_size(), 1);
  const v1::FaultRule& kept = config.faults(0);
  EXPECT_EQ(kept.name(), "full");
  EXPECT_EQ(kept.percent(), 100);  // unset: 100
  EXPECT_EQ(kept.match().path_prefix(), "/api/");
  ASSERT_EQ(kept.match().methods_size(), 1);
  EXPECT_EQ(kept.match().methods(0), "GET");
  ASSERT_EQ(kept.match().headers_size(), 1);
  EXPECT_EQ(kept.match().headers(0).name(), "x-user");  // names are case-insensitive
  EXPECT_EQ(kept.match().headers(0).value(), "test");
  EXPECT_EQ(kept.match().clients(0), "10.0.0.0/8");
  EXPECT_EQ(kept.abort().kind(), v1::AbortFault::STATUS);
  EXPECT_EQ(kept.abort().status(), 502u);
  EXPECT_EQ(kept.abort().body(), "down\n");
  EXPECT_EQ(ToNanos(kept.delay().distribution().lognormal().p99()), 900'000'000);
  EXPECT_EQ(kept.delay().target(), v1::DelayFault::FIRST_BYTE);
  EXPECT_TRUE(kept.tag_response());
  EXPECT_FALSE(kept.has_expires_after());
  EXPECT_TRUE(kept.has_expires_at());
  EXPECT_EQ(kept.ShortDebugString(), response.config().faults(0).ShortDebugString());
}

struct Refused {
  std::string name;
  std::function<void(v1::FaultRule&)> spoil;
  std::string mentions;  // in the message, besides "faults[1]"
};

std::vector<Refused> RefusedRules() {
  using R = v1::FaultRule;
  return {
      {"bad name", [](R& r) { r.set_name("has space"); }, "name"},
      {"duplicate name", [](R& r) { r.set_name("good"); }, "name"},
      {"percent over 100", [](R& r) { r.set_percent(100.5); }, "percent"},
      {"negative percent", [](R& r) { r.set_percent(-1); }, "percent"},
      {"no fault", [](R& r) { r.clear_abort(); }, "no fault"},
      {"status 600", [](R& r) { r.mutable_abort()->set_status(600); }, "status"},
      {"status 199", [](R& r) { r.mutable_abort()->set_status(199); }, "status"},
      {"framing header",
       [](R& r) {
         auto* header = r.mutable_abort()->add_headers();
         header->set_name("Content-Length");
         header->set_value("5");
       },
       "Content-Length"},
      {"a 204 with a body",
       [](R& r) {
         r.mutable_abort()->set_status(204);
         r.mutable_abort()->set_body("x");
       },
       "body"},
      {"after_bytes on a status", [](R& r) { r.mutable_abort()->set_after_bytes(3); },
       "after_bytes"},
      {"body on a reset",
       [](R& r) {
         r.mutable_abort()->set_kind(v1::AbortFault::RESET);
         r.mutable_abort()->set_body("x");
       },
       "abort"},
      {"bad cidr", [](R& r) { r.mutable_match()->add_clients("10.1.0.0/8"); }, "clients"},
      {"not an address", [](R& r) { r.mutable_match()->add_clients("localhost"); }, "clients"},
      {"unknown method", [](R& r) { r.mutable_match()->add_methods("FETCH"); }, "methods"},
      {"relative path", [](R& r) { r.mutable_match()->set_path_prefix("api/"); }, "path_prefix"},
      {"upstream without port", [](R& r) { r.mutable_match()->set_upstream("backend"); },
       "upstream"},
      {"uniform low over high",
       [](R& r) {
         auto* uniform = r.mutable_delay()->mutable_distribution()->mutable_uniform();
         *uniform->mutable_low() = Millis(20);
         *uniform->mutable_high() = Millis(10);
       },
       "delay"},
      {"lognormal p99 under the median",
       [](R& r) {
         auto* lognormal = r.mutable_delay()->mutable_distribution()->mutable_lognormal();
         *lognormal->mutable_median() = Millis(20);
         *lognormal->mutable_p99() = Millis(10);
       },
       "delay"},
      {"delay over an hour",
       [](R& r) { r.mutable_delay()->mutable_distribution()->mutable_fixed()->set_seconds(3601); },
       "delay"},
      {"zero expires_after", [](R& r) { *r.mutable_expires_after() = Millis(0); }, "expires_after"},
      {"trigger statuses reversed",
       [](R& r) {
         r.mutable_header_triggers()->set_enabled(true);
         r.mutable_header_triggers()->set_min_abort_status(503);
         r.mutable_header_triggers()->set_max_abort_status(500);
       },
       "header_triggers"},
  };
}

TEST_F(FaultConfigTest, RulesTheNodeCannotCarryOutAreRefusedWhole) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule good = StatusRule("good", 503);
  good.mutable_match()->set_path_prefix("/good");
  ASSERT_TRUE(SetFaults({good}));
  v1::NodeConfig before;
  ASSERT_TRUE(control_->GetConfig(&before).ok());

  for (const Refused& refused : RefusedRules()) {
    SCOPED_TRACE(refused.name);
    v1::FaultRule spoiled = StatusRule("spoiled", 418);
    refused.spoil(spoiled);
    v1::NodeConfig config;
    *config.add_faults() = good;
    *config.add_faults() = spoiled;
    v1::UpdateConfigResponse response;
    grpc::Status status = control_->Update(config, {"faults"}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_NE(status.error_message().find("faults[1]"), std::string::npos)
        << status.error_message();
    EXPECT_NE(status.error_message().find(refused.mentions), std::string::npos)
        << status.error_message();
  }
  v1::NodeConfig after;
  ASSERT_TRUE(control_->GetConfig(&after).ok());
  EXPECT_EQ(after.ShortDebugString(), before.ShortDebugString()) << "a refused update changed it";
  EXPECT_EQ(Fetch("/good").status(), 503);
  EXPECT_EQ(Fetch("/other").status(), 200);

  v1::NodeConfig too_many;
  too_many.set_max_active_faults(10'000'001);
  grpc::Status status = control_->Update(too_many, {"max_active_faults"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
}

}  // namespace
}  // namespace proxynode::testing
