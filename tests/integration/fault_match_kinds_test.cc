// Every kind of fault match against the real binary (issue 18), each with requests it must
// hit and requests it must miss: route (the requests a configured route serves), methods,
// path prefix, exact path (before '?'), headers (present, exact value, value prefix; names
// case-insensitive), client address ranges (over loopback, from 127.0.0.1 and 127.0.0.2),
// and upstream (host:port of the serving route's upstreams); and all conditions of one match
// together. Each rule answers 418 tagged with its name, so a hit is unmistakable.

#include <string>
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

class FaultMatchKindsTest : public FaultFixture {
 protected:
  void SetUp() override { ASSERT_TRUE(StartFaultNode()); }

  // Sends `request` on a fresh connection (from `source` when set) and says whether the
  // rule `name` answered it.
  bool Hit(const std::string& request, const std::string& name = "m",
           const std::string& source = "") {
    fault::Probe probe = Connect(source);
    const bool head = request.starts_with("HEAD ");
    Exchange exchange = probe.RoundTrip(request, 5s, head);
    EXPECT_EQ(exchange.ending, Ending::kOpen) << request << ": " << exchange.Describe();
    if (exchange.status() == 418) {
      EXPECT_EQ(exchange.Header("x-proxynode-fault"), name) << exchange.Describe();
      return true;
    }
    EXPECT_NE(exchange.status(), 0) << exchange.Describe();
    return false;
  }

  // A rule that answers 418, tagged `name`, with `match`.
  static v1::FaultRule Matching(const v1::FaultMatch& match, const std::string& name = "m") {
    v1::FaultRule rule = StatusRule(name, 418);
    *rule.mutable_match() = match;
    return rule;
  }
};

std::string Request(const std::string& method, const std::string& target,
                    const std::string& fields = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + fields +
         (method == "POST" || method == "PUT" ? "Content-Length: 0\r\n" : "") + "\r\n";
}

TEST_F(FaultMatchKindsTest, RouteMatchesTheRequestsThatRouteServes) {
  ASSERT_TRUE(SetRoutes({RespondRoute("/a/"), RespondRoute("/a/deep/"), RespondRoute("/b/")}));
  v1::FaultMatch match;
  match.set_route("/a/");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/a/")));
  EXPECT_TRUE(Hit(Get("/a/x?y=z")));
  EXPECT_FALSE(Hit(Get("/a/deep/x"))) << "served by the longer route /a/deep/";
  EXPECT_FALSE(Hit(Get("/b/x")));
  EXPECT_FALSE(Hit(Get("/a")));  // no route serves it: the node's own answer
  EXPECT_FALSE(Hit(Get("/")));
  v1::FaultRuleStats stats = RuleStats("m");
  EXPECT_EQ(stats.matched(), 2u);
  EXPECT_EQ(stats.fired(), 2u);
}

TEST_F(FaultMatchKindsTest, MethodsMatchAnyOfTheListedMethods) {
  v1::FaultMatch match;
  match.add_methods("POST");
  match.add_methods("head");  // any case
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Request("POST", "/")));
  EXPECT_TRUE(Hit(Request("HEAD", "/")));
  EXPECT_FALSE(Hit(Request("GET", "/")));
  EXPECT_FALSE(Hit(Request("PUT", "/")));
  EXPECT_FALSE(Hit(Request("DELETE", "/")));
}

TEST_F(FaultMatchKindsTest, PathPrefixMatchesTheStartOfTheTarget) {
  v1::FaultMatch match;
  match.set_path_prefix("/api/v1");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/api/v1")));
  EXPECT_TRUE(Hit(Get("/api/v1/users")));
  EXPECT_TRUE(Hit(Get("/api/v1?x=1")));
  EXPECT_TRUE(Hit(Get("/api/v10")));  // a prefix of the target, not a path segment
  EXPECT_FALSE(Hit(Get("/api/v")));
  EXPECT_FALSE(Hit(Get("/API/v1")));  // case matters
  EXPECT_FALSE(Hit(Get("/x/api/v1")));
}

TEST_F(FaultMatchKindsTest, PathExactMatchesThePathBeforeTheQuery) {
  v1::FaultMatch match;
  match.set_path_exact("/exact");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/exact")));
  EXPECT_TRUE(Hit(Get("/exact?q=1&r=2")));
  EXPECT_TRUE(Hit(Get("/exact?")));
  EXPECT_FALSE(Hit(Get("/exact/")));
  EXPECT_FALSE(Hit(Get("/exactly")));
  EXPECT_FALSE(Hit(Get("/exac")));
  EXPECT_FALSE(Hit(Get("/")));
}

TEST_F(FaultMatchKindsTest, HeaderPresentMatchesTheFieldWhateverItsValueAndNameCase) {
  v1::FaultMatch match;
  *match.add_headers() = Header("x-canary", v1::HeaderMatch::PRESENT);
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/", "x-canary: 1\r\n")));
  EXPECT_TRUE(Hit(Get("/", "X-Canary: anything\r\n")));
  EXPECT_TRUE(Hit(Get("/", "X-CANARY:\r\n")));
  EXPECT_TRUE(Hit(Get("/", "Accept: */*\r\nX-Canary: 1\r\nUser-Agent: t\r\n")));
  EXPECT_FALSE(Hit(Get("/")));
  EXPECT_FALSE(Hit(Get("/", "X-Canary-Not: 1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-Canar: 1\r\n")));
}

TEST_F(FaultMatchKindsTest, HeaderExactMatchesTheWholeValueCaseSensitively) {
  v1::FaultMatch match;
  *match.add_headers() = Header("x-user", v1::HeaderMatch::EXACT, "test");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/", "x-user: test\r\n")));
  EXPECT_TRUE(Hit(Get("/", "X-User:test\r\n")));
  EXPECT_TRUE(Hit(Get("/", "X-USER:   test  \r\n")));  // surrounding whitespace is not the value
  EXPECT_FALSE(Hit(Get("/", "X-User: Test\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-User: test2\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-User: tes\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-Other: test\r\n")));
  EXPECT_FALSE(Hit(Get("/")));
}

TEST_F(FaultMatchKindsTest, HeaderPrefixMatchesTheStartOfTheValue) {
  v1::FaultMatch match;
  *match.add_headers() = Header("user-agent", v1::HeaderMatch::PREFIX, "curl/");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/", "User-Agent: curl/8.1\r\n")));
  EXPECT_TRUE(Hit(Get("/", "user-agent: curl/\r\n")));
  EXPECT_FALSE(Hit(Get("/", "User-Agent: Curl/8.1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "User-Agent: wget curl/8.1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "User-Agent: curl\r\n")));
  EXPECT_FALSE(Hit(Get("/")));
}

TEST_F(FaultMatchKindsTest, EveryHeaderOfAMatchMustHold) {
  v1::FaultMatch match;
  *match.add_headers() = Header("x-a", v1::HeaderMatch::EXACT, "1");
  *match.add_headers() = Header("x-b", v1::HeaderMatch::PRESENT);
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/", "X-A: 1\r\nX-B: whatever\r\n")));
  EXPECT_TRUE(Hit(Get("/", "X-B: whatever\r\nX-A: 1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-A: 1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-B: 1\r\n")));
  EXPECT_FALSE(Hit(Get("/", "X-A: 2\r\nX-B: 1\r\n")));
}

TEST_F(FaultMatchKindsTest, ClientsMatchTheClientsAddressRange) {
  v1::FaultMatch loopback;
  loopback.add_clients("10.0.0.0/8");
  loopback.add_clients("127.0.0.0/8");  // any of them
  v1::FaultMatch private_only;
  private_only.add_clients("10.0.0.0/8");
  private_only.add_clients("192.168.0.0/16");
  private_only.add_clients("::1");  // an IPv6 loopback is not 127.0.0.1
  v1::FaultMatch second_host;
  second_host.add_clients("127.0.0.2/32");

  ASSERT_TRUE(SetFaults({Matching(private_only, "private")}));
  EXPECT_FALSE(Hit(Get("/"), "private"));
  EXPECT_EQ(RuleStats("private").matched(), 0u);

  ASSERT_TRUE(SetFaults({Matching(loopback, "loopback")}));
  EXPECT_TRUE(Hit(Get("/"), "loopback"));
  EXPECT_TRUE(Hit(Get("/"), "loopback", "127.0.0.2"));

  ASSERT_TRUE(SetFaults({Matching(second_host, "second")}));
  EXPECT_FALSE(Hit(Get("/"), "second", "127.0.0.1"));
  EXPECT_TRUE(Hit(Get("/"), "second", "127.0.0.2"));
  EXPECT_FALSE(Hit(Get("/"), "second", "127.0.0.3"));
  EXPECT_EQ(RuleStats("second").matched(), 1u);
}

TEST_F(FaultMatchKindsTest, UpstreamMatchesRequestsProxiedToIt) {
  UpstreamServer one(UpstreamReply{.text = "one\n"});
  UpstreamServer two(UpstreamReply{.text = "two\n"});
  ASSERT_TRUE(one.Start());
  ASSERT_TRUE(two.Start());
  ASSERT_TRUE(SetRoutes({ProxyRoute("/one/", {one.address()}),
                         ProxyRoute("/both/", {two.address(), one.address()}),
                         ProxyRoute("/two/", {two.address()}), RespondRoute("/respond/")}));
  v1::FaultMatch match;
  match.set_upstream(one.address());
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_TRUE(Hit(Get("/one/x")));
  EXPECT_TRUE(Hit(Get("/both/x")));  // one of the route's upstreams is enough
  EXPECT_FALSE(Hit(Get("/two/x")));
  EXPECT_FALSE(Hit(Get("/respond/x")));
  EXPECT_FALSE(Hit(Get("/elsewhere")));
  EXPECT_EQ(one.request_count(), 0u) << "the node answered for it";
  EXPECT_EQ(two.request_count(), 1u);
}

TEST_F(FaultMatchKindsTest, EveryConditionOfAMatchMustHold) {
  ASSERT_TRUE(SetRoutes({RespondRoute("/svc/")}));
  v1::FaultMatch match;
  match.set_route("/svc/");
  match.add_methods("POST");
  match.set_path_prefix("/svc/orders");
  *match.add_headers() = Header("x-tenant", v1::HeaderMatch::EXACT, "blue");
  match.add_clients("127.0.0.0/8");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  const std::string tenant = "X-Tenant: blue\r\n";
  EXPECT_TRUE(Hit(Request("POST", "/svc/orders/1", tenant)));
  EXPECT_FALSE(Hit(Request("GET", "/svc/orders/1", tenant)));
  EXPECT_FALSE(Hit(Request("POST", "/svc/users/1", tenant)));
  EXPECT_FALSE(Hit(Request("POST", "/svc/orders/1", "X-Tenant: red\r\n")));
  EXPECT_FALSE(Hit(Request("POST", "/svc/orders/1")));
  // The same with a client outside the range.
  match.clear_clients();
  match.add_clients("10.0.0.0/8");
  ASSERT_TRUE(SetFaults({Matching(match)}));
  EXPECT_FALSE(Hit(Request("POST", "/svc/orders/1", tenant)));
}

}  // namespace
}  // namespace proxynode::testing
