// Abort faults against the real binary (issue 18), each as the client sees it on the wire:
// a status with its body, headers and tag; a reset before the response or after some of it;
// a close with no response; a response cut short of its Content-Length; a connection gone
// silent. On a proxy route the node aborts instead of the upstream, which sees nothing. Each
// kind is counted under its name in GetStats and /metrics.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/fault_fixture.h"
#include "tests/testing/fault_probe.h"
#include "tests/testing/upstream_server.h"

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using fault::Ending;
using fault::Exchange;

class FaultAbortTest : public FaultFixture {};

TEST_F(FaultAbortTest, StatusAbortAnswersItsStatusBodyAndHeadersAndKeepsTheConnection) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = StatusRule("teapot", 418);
  rule.mutable_match()->set_path_prefix("/abort/");
  rule.mutable_abort()->set_body("short and stout\n");
  v1::AbortFault::Header* header = rule.mutable_abort()->add_headers();
  header->set_name("Retry-After");
  header->set_value("7");
  header = rule.mutable_abort()->add_headers();
  header->set_name("X-Custom");
  header->set_value("a b");
  // Untagged, and no body of its own: the node's text for the status.
  v1::FaultRule plain = Rule("plain-503");
  plain.mutable_match()->set_path_prefix("/plain/");
  plain.mutable_abort()->set_kind(v1::AbortFault::STATUS);
  ASSERT_TRUE(SetFaults({rule, plain}));

  fault::Probe probe = Connect();
  Exchange aborted = probe.RoundTrip(Get("/abort/x"), 5s);
  ASSERT_EQ(aborted.ending, Ending::kOpen) << aborted.Describe();
  EXPECT_EQ(aborted.status(), 418) << aborted.Describe();
  EXPECT_EQ(aborted.Body(), "short and stout\n");
  EXPECT_EQ(aborted.Header("Retry-After"), "7");
  EXPECT_EQ(aborted.Header("X-Custom"), "a b");
  EXPECT_EQ(aborted.Header("x-proxynode-fault"), "teapot");
  EXPECT_FALSE(abuse::HasFieldLine(aborted.bytes, "Connection: close")) << aborted.Describe();

  // The same connection goes on: a status abort is a response like any other.
  Exchange passed = probe.RoundTrip(Get("/other"), 5s);
  ASSERT_EQ(passed.ending, Ending::kOpen) << passed.Describe();
  EXPECT_EQ(passed.status(), 200);
  EXPECT_EQ(passed.Body(), FaultNodeBody());
  EXPECT_FALSE(passed.Header("x-proxynode-fault")) << passed.Describe();

  Exchange unavailable = probe.RoundTrip(Get("/plain/y"), 5s);
  ASSERT_EQ(unavailable.ending, Ending::kOpen) << unavailable.Describe();
  EXPECT_EQ(unavailable.status(), 503);  // unset status: 503
  EXPECT_EQ(unavailable.Body(), "Service Unavailable\n");
  // Without tag_response a client cannot tell the fault from a real error.
  EXPECT_FALSE(unavailable.Header("x-proxynode-fault")) << unavailable.Describe();

  v1::FaultRuleStats stats = RuleStats("teapot");
  EXPECT_EQ(stats.matched(), 1u);
  EXPECT_EQ(stats.fired(), 1u);
  EXPECT_EQ(Aborted(stats, "status"), 1u);
  EXPECT_EQ(Aborted(RuleStats("plain-503"), "status"), 1u);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_aborted_total", R"(rule="teapot",kind="status")"), 1);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_fired_total", R"(rule="plain-503")"), 1);
}

TEST_F(FaultAbortTest, ResetBeforeTheResponseSendsARstAndNoByte) {
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetFaults({AbortRule("rst", v1::AbortFault::RESET)}));

  Exchange reset = Fetch("/");
  EXPECT_EQ(reset.ending, Ending::kReset) << reset.Describe();
  EXPECT_EQ(reset.bytes, "");
  EXPECT_EQ(Aborted(RuleStats("rst"), "reset"), 1u);
  EXPECT_EQ(proxy_.MetricSum("proxynode_fault_aborted_total", R"(rule="rst",kind="reset")"), 1);
}

TEST_F(FaultAbortTest, ResetAfterBytesSendsExactlyThatMuchOfTheResponseFirst) {
  ASSERT_TRUE(StartFaultNode());
  // What the response would be: its head, to aim the reset into the body.
  fault::Exchange whole = Fetch("/");
  ASSERT_EQ(whole.status(), 200) << whole.Describe();
  const size_t head = whole.HeadBytes();
  ASSERT_GT(head, 0u);

  for (uint64_t after : {uint64_t{12}, static_cast<uint64_t>(head + 300)}) {
    SCOPED_TRACE("after_bytes " + std::to_string(after));
    ASSERT_TRUE(SetFaults({AbortRule("rst-late", v1::AbortFault::RESET, after)}));
    Exchange reset = Fetch("/");
    EXPECT_EQ(reset.ending, Ending::kReset) << reset.Describe();
    ASSERT_EQ(reset.bytes.size(), after) << reset.Describe();
    EXPECT_TRUE(std::string("HTTP/1.1 200 OK\r\n").starts_with(reset.bytes.substr(0, 17)))
        << reset.Describe();
    if (after > head) {
      // The head (which says Connection: close) promised the whole body; part of it came.
      ASSERT_TRUE(reset.has_head()) << reset.Describe();
      EXPECT_EQ(reset.ContentLength(), FaultNodeBody().size());
      EXPECT_EQ(reset.Body(), FaultNodeBody().substr(0, after - reset.HeadBytes()));
      EXPECT_FALSE(reset.complete);
    }
  }
}

TEST_F(FaultAbortTest, CloseEndsTheConnectionWithAFinAndNoResponse) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = AbortRule("fin", v1::AbortFault::CLOSE);
  rule.mutable_match()->set_path_prefix("/close");
  ASSERT_TRUE(SetFaults({rule}));

  Exchange closed = Fetch("/close");
  EXPECT_EQ(closed.ending, Ending::kEof) << closed.Describe();
  EXPECT_EQ(closed.bytes, "");

  // Pipelined behind a normal request: that one is answered in full, then the FIN.
  fault::Probe probe = Connect();
  const auto sent = fault::Clock::now();
  ASSERT_TRUE(probe.Send(Get("/first") + Get("/close") + Get("/never")));
  Exchange first = probe.Read(sent, 5s, /*stop_at_response=*/true);
  ASSERT_EQ(first.ending, Ending::kOpen) << first.Describe();
  EXPECT_EQ(first.status(), 200);
  Exchange rest = probe.Read(sent, 5s, /*stop_at_response=*/false);
  EXPECT_EQ(rest.ending, Ending::kEof) << rest.Describe();
  EXPECT_EQ(rest.bytes, "") << "nothing after the aborted request's response";

  EXPECT_EQ(Aborted(RuleStats("fin"), "close"), 2u);
}

TEST_F(FaultAbortTest, CutPromisesTheWholeBodySendsAfterBytesOfItAndCloses) {
  ASSERT_TRUE(StartFaultNode());
  const std::string body = FaultNodeBody();
  for (uint64_t after : {uint64_t{0}, uint64_t{100}, uint64_t{5000}}) {
    SCOPED_TRACE("after_bytes " + std::to_string(after));
    ASSERT_TRUE(SetFaults({AbortRule("cut", v1::AbortFault::CUT, after)}));
    Exchange cut = Fetch("/");
    EXPECT_EQ(cut.ending, Ending::kEof) << cut.Describe();  // a FIN, not a reset
    EXPECT_EQ(cut.status(), 200) << cut.Describe();
    EXPECT_EQ(cut.ContentLength(), body.size());
    // Never the whole body, whatever after_bytes says: the response must be short.
    const size_t sent = std::min<size_t>(after, body.size() - 1);
    EXPECT_EQ(cut.Body(), body.substr(0, sent));
    EXPECT_FALSE(cut.complete) << "the cut response arrived whole";
  }
  EXPECT_EQ(Aborted(RuleStats("cut"), "cut"), 3u);
}

TEST_F(FaultAbortTest, SilentSendsNothingAndKeepsTheConnectionUntilTheClientCloses) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = AbortRule("hush", v1::AbortFault::SILENT);
  rule.mutable_match()->set_path_prefix("/silent");
  ASSERT_TRUE(SetFaults({rule}));

  fault::Probe probe = Connect();
  Exchange quiet = probe.RoundTrip(Get("/silent") + Get("/after"), 600ms);
  EXPECT_EQ(quiet.ending, Ending::kTimeout) << quiet.Describe();
  EXPECT_EQ(quiet.bytes, "") << "nothing at all, not even for the request behind it";
  EXPECT_EQ(Aborted(RuleStats("hush"), "silent"), 1u);
  EXPECT_EQ(Stats().total().connections_active(), 1);

  // The client gives up (a half-close): the node closes its side too.
  probe.ShutdownWrite();
  Exchange end = probe.Read(fault::Clock::now(), 5s, /*stop_at_response=*/false);
  EXPECT_EQ(end.ending, Ending::kEof) << end.Describe();
  EXPECT_EQ(end.bytes, "");
  EXPECT_TRUE(WaitUntil([&] { return Stats().total().connections_active() == 0; }, 5s));
}

TEST_F(FaultAbortTest, SilentConnectionsCloseAfterTheIdleTimeout) {
  ASSERT_TRUE(StartFaultNode({"--idle_timeout=400ms"}));
  ASSERT_TRUE(SetFaults({AbortRule("hush", v1::AbortFault::SILENT)}));

  fault::Probe probe = Connect();
  Exchange quiet = probe.RoundTrip(Get("/"), 400ms + kFaultSlack);
  EXPECT_EQ(quiet.ending, Ending::kEof) << quiet.Describe();
  EXPECT_EQ(quiet.bytes, "");
  EXPECT_GE(quiet.MillisToEnd(), 390) << "closed before the idle timeout";
}

TEST_F(FaultAbortTest, OnAProxyRouteTheNodeAbortsAndTheUpstreamSeesNothing) {
  UpstreamServer upstream(UpstreamReply{.text = "from the upstream\n"});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/", {upstream.address()})}));

  struct Case {
    v1::AbortFault::Kind kind;
    Ending ending;
  };
  for (Case c :
       {Case{v1::AbortFault::STATUS, Ending::kOpen}, Case{v1::AbortFault::RESET, Ending::kReset},
        Case{v1::AbortFault::CLOSE, Ending::kEof}, Case{v1::AbortFault::CUT, Ending::kEof},
        Case{v1::AbortFault::SILENT, Ending::kTimeout}}) {
    SCOPED_TRACE(v1::AbortFault::Kind_Name(c.kind));
    v1::FaultRule rule = AbortRule("proxied", c.kind, c.kind == v1::AbortFault::CUT ? 10 : 0);
    rule.mutable_match()->set_path_prefix("/faulty/");
    if (c.kind == v1::AbortFault::STATUS) rule.mutable_abort()->set_status(502);
    ASSERT_TRUE(SetFaults({rule}));
    Exchange aborted = Fetch("/faulty/x", "", 500ms);
    EXPECT_EQ(aborted.ending, c.ending) << aborted.Describe();
    if (c.kind == v1::AbortFault::STATUS) {
      EXPECT_EQ(aborted.status(), 502);
    }
    EXPECT_EQ(aborted.bytes.find("from the upstream"), std::string::npos) << aborted.Describe();
  }
  EXPECT_EQ(upstream.request_count(), 0u) << "an aborted request reached the upstream";

  // Requests the rule does not match still reach it.
  Exchange passed = Fetch("/fine");
  EXPECT_EQ(passed.status(), 200) << passed.Describe();
  EXPECT_EQ(passed.Body(), "from the upstream\n");
  EXPECT_EQ(upstream.request_count(), 1u);
}

TEST_F(FaultAbortTest, AnAbortComesAfterTheRulesDelay) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule rule = StatusRule("slow-fail", 504);
  WithFixedDelay(rule, 300);
  ASSERT_TRUE(SetFaults({rule}));
  Exchange late = Fetch("/");
  ASSERT_EQ(late.ending, Ending::kOpen) << late.Describe();
  EXPECT_EQ(late.status(), 504);
  EXPECT_GE(late.MillisToComplete(), 300);
  EXPECT_LT(late.MillisToComplete(), 300 + kFaultSlack.count());
  v1::FaultRuleStats stats = RuleStats("slow-fail");
  EXPECT_EQ(stats.delayed(), 1u);
  EXPECT_EQ(Aborted(stats, "status"), 1u);
}

// A status abort on a request with a body: the body is read and dropped (never taken for the
// next request, never forwarded), and the connection goes on, on a respond route and on a
// proxy route alike.
TEST_F(FaultAbortTest, AStatusAbortDropsTheRequestBodyAndTheConnectionGoesOn) {
  UpstreamServer upstream(UpstreamReply{.body = UpstreamReply::Body::kEcho});
  ASSERT_TRUE(upstream.Start());
  ASSERT_TRUE(StartFaultNode());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/proxy/", {upstream.address()}), RespondRoute("/")}));
  v1::FaultRule rule = StatusRule("no-posts", 503);
  rule.mutable_match()->add_methods("POST");
  ASSERT_TRUE(SetFaults({rule}));

  // A body that looks like a request, to catch it being parsed as one.
  const std::string body = Get("/smuggled") + std::string(20'000, 'b');
  for (const std::string prefix : {"/respond/", "/proxy/"}) {
    SCOPED_TRACE(prefix);
    fault::Probe probe = Connect();
    const auto sent = fault::Clock::now();
    ASSERT_TRUE(probe.Send("POST " + prefix + "upload HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body + Get(prefix + "next")));
    Exchange aborted = probe.Read(sent, 5s, /*stop_at_response=*/true);
    ASSERT_EQ(aborted.ending, Ending::kOpen) << aborted.Describe();
    EXPECT_EQ(aborted.status(), 503);
    Exchange next = probe.Read(sent, 5s, /*stop_at_response=*/true);
    ASSERT_EQ(next.ending, Ending::kOpen) << next.Describe();
    EXPECT_EQ(next.status(), 200) << next.Describe();
    // Nothing else: no response for the "smuggled" request.
    Exchange rest = probe.Read(sent, 200ms, /*stop_at_response=*/false);
    EXPECT_EQ(rest.bytes, "") << rest.Describe();
  }
  std::vector<RecordedRequest> requests = upstream.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/proxy/next");
  EXPECT_EQ(Aborted(RuleStats("no-posts"), "status"), 2u);
}

// A Content-Type among a status abort's headers replaces the node's (one field, not two);
// a 204 or 304 abort carries no length and no body, and the connection's framing holds.
TEST_F(FaultAbortTest, StatusAbortFramingFollowsTheStatusAndItsHeaders) {
  ASSERT_TRUE(StartFaultNode());
  v1::FaultRule json = StatusRule("json", 503);
  json.mutable_match()->set_path_prefix("/json");
  json.mutable_abort()->set_body("{\"error\":\"unavailable\"}");
  v1::AbortFault::Header* type = json.mutable_abort()->add_headers();
  type->set_name("content-type");
  type->set_value("application/json");
  v1::FaultRule empty = StatusRule("no-content", 204);
  empty.mutable_match()->set_path_prefix("/204");
  v1::FaultRule unmodified = StatusRule("not-modified", 304);
  unmodified.mutable_match()->set_path_prefix("/304");
  ASSERT_TRUE(SetFaults({json, empty, unmodified}));

  fault::Probe probe = Connect();
  Exchange typed = probe.RoundTrip(Get("/json"), 5s);
  ASSERT_EQ(typed.ending, Ending::kOpen) << typed.Describe();
  EXPECT_EQ(typed.status(), 503);
  EXPECT_EQ(typed.Header("Content-Type"), "application/json");
  std::string lower_head = typed.bytes.substr(0, typed.HeadBytes());
  for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(lower_head.find("content-type:"), lower_head.rfind("content-type:"))
      << "two Content-Type fields: " << typed.Describe();
  EXPECT_EQ(typed.Body(), "{\"error\":\"unavailable\"}");

  for (const std::string target : {"/204", "/304"}) {
    SCOPED_TRACE(target);
    Exchange bodiless = probe.RoundTrip(Get(target), 5s);
    ASSERT_EQ(bodiless.ending, Ending::kOpen) << bodiless.Describe();
    EXPECT_EQ(bodiless.status(), target == "/204" ? 204 : 304);
    EXPECT_FALSE(bodiless.Header("Content-Length")) << bodiless.Describe();
    EXPECT_FALSE(bodiless.Header("Transfer-Encoding")) << bodiless.Describe();
    // No body bytes: the next response on the connection starts right after the head.
    Exchange next = probe.RoundTrip(Get("/after"), 5s);
    ASSERT_EQ(next.ending, Ending::kOpen) << next.Describe();
    EXPECT_EQ(next.status(), 200) << "stray bytes after the bodiless response";
    EXPECT_EQ(next.Body(), FaultNodeBody());
  }
}

}  // namespace
}  // namespace proxynode::testing
