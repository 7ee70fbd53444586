// The decision for one request, apart from any socket: refusals by the limits, the close
// rules, and when a 100 Continue goes out.

#include "dataplane/server/response_decision.h"

#include "dataplane/server/admission.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

RequestHead Get() {
  RequestHead head;
  head.method = HttpMethod::kGet;
  head.target = "/";
  head.keep_alive = true;
  return head;
}

ResponseDecision Decide(const RequestHead& head, const NodeConfig& config, Admission* admission,
                        uint64_t requests = 1, bool nothing_owed = true) {
  RespondHandler handler;
  WorkerFaults faults(0, nullptr);
  RequestFacts facts{.head = head,
                     .head_block = "GET / HTTP/1.1\r\n\r\n",
                     .config = config,
                     .now = kSecond,
                     .requests_on_connection = requests,
                     .nothing_owed = nothing_owed,
                     .host = nullptr};
  return DecideResponse(facts, handler, admission, &faults);
}

TEST(ResponseDecisionTest, ADelayedAnswerTakesAPendingSlotAndKeepsTheConnection) {
  NodeConfig config;
  config.delay = 5 * kMillisecond;
  Admission admission(100);
  ResponseDecision decision = Decide(Get(), config, &admission);
  EXPECT_EQ(decision.refusal, Refusal::kNone);
  EXPECT_EQ(decision.plan.status, 200);
  EXPECT_EQ(decision.plan.delay, 5 * kMillisecond);
  EXPECT_TRUE(decision.holds_pending);
  EXPECT_EQ(admission.pending(), 1);
  EXPECT_FALSE(decision.close);
}

TEST(ResponseDecisionTest, OverTheRateLimitIs429WithRetryAfterAndNoSlot) {
  NodeConfig config;
  config.rate_limit = 1;
  Admission admission(100);
  EXPECT_EQ(Decide(Get(), config, &admission).refusal, Refusal::kNone);
  ResponseDecision refused = Decide(Get(), config, &admission);
  EXPECT_EQ(refused.refusal, Refusal::kRateLimited);
  EXPECT_EQ(refused.plan.status, 429);
  EXPECT_EQ(refused.plan.retry_after_seconds, 1u);
  EXPECT_EQ(refused.plan.body, ErrorBody(429));
  EXPECT_FALSE(refused.holds_pending);
}

TEST(ResponseDecisionTest, OverMaxPendingIs503AndTheDelayIsDropped) {
  NodeConfig config;
  config.max_pending = 1;
  Admission admission(100);
  ASSERT_TRUE(Decide(Get(), config, &admission).holds_pending);
  ResponseDecision refused = Decide(Get(), config, &admission);
  EXPECT_EQ(refused.refusal, Refusal::kMaxPending);
  EXPECT_EQ(refused.plan.status, 503);
  EXPECT_EQ(refused.plan.delay, 0);
  EXPECT_FALSE(refused.holds_pending);
  EXPECT_EQ(admission.pending(), 1);
}

TEST(ResponseDecisionTest, WithoutAdmissionNoLimitApplies) {
  NodeConfig config;
  config.rate_limit = 1;
  config.max_pending = 1;
  for (int i = 0; i < 5; ++i) {
    ResponseDecision decision = Decide(Get(), config, nullptr);
    EXPECT_EQ(decision.refusal, Refusal::kNone);
    EXPECT_FALSE(decision.holds_pending);
  }
}

TEST(ResponseDecisionTest, TheLastAllowedRequestClosesAndIsCountedOnlyOnKeepAlive) {
  NodeConfig config;
  config.max_requests_per_connection = 3;
  EXPECT_FALSE(Decide(Get(), config, nullptr, 2).close);
  ResponseDecision last = Decide(Get(), config, nullptr, 3);
  EXPECT_TRUE(last.close);
  EXPECT_TRUE(last.closes_at_max_requests);
  RequestHead closing = Get();
  closing.keep_alive = false;
  ResponseDecision asked = Decide(closing, config, nullptr, 3);
  EXPECT_TRUE(asked.close);
  EXPECT_FALSE(asked.closes_at_max_requests) << "the client closed it anyway";
}

TEST(ResponseDecisionTest, ContinueOnlyForABodyNothingOwedAndNoRefusal) {
  NodeConfig config;
  RequestHead upload = Get();
  upload.method = HttpMethod::kPost;
  upload.expect_continue = true;
  upload.content_length = 10;
  EXPECT_TRUE(Decide(upload, config, nullptr).send_continue);
  EXPECT_FALSE(Decide(upload, config, nullptr, 1, /*nothing_owed=*/false).send_continue);
  RequestHead bodiless = upload;
  bodiless.content_length = 0;
  EXPECT_FALSE(Decide(bodiless, config, nullptr).send_continue);
  config.rate_limit = 1;
  Admission admission(100);
  Decide(upload, config, &admission);
  EXPECT_FALSE(Decide(upload, config, &admission).send_continue) << "a 429 needs no body";
}

}  // namespace
}  // namespace proxynode
