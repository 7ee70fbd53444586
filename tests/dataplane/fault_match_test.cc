// A fault rule's match against one request: each condition alone (method, route, path
// prefix and exact path, header present/exact/prefix, client CIDR for IPv4, IPv6 and mapped
// IPv4, upstream), all of them together, and the trigger header values.

#include "dataplane/server/fault_match.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "gtest/gtest.h"

namespace proxynode {
namespace {

SocketAddress V4(const char* text) {
  SocketAddress address;
  auto* in = reinterpret_cast<sockaddr_in*>(&address.storage);
  in->sin_family = AF_INET;
  inet_pton(AF_INET, text, &in->sin_addr);
  address.length = sizeof(sockaddr_in);
  return address;
}

SocketAddress V6(const char* text) {
  SocketAddress address;
  auto* in = reinterpret_cast<sockaddr_in6*>(&address.storage);
  in->sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &in->sin6_addr);
  address.length = sizeof(sockaddr_in6);
  return address;
}

ClientRange Range(const char* text) { return *ParseClientRange(text); }

class FaultMatchTest : public ::testing::Test {
 protected:
  bool Matches(const FaultMatch& match, const RouteConfig* route = nullptr) {
    auto client = [this] {
      ++client_lookups_;
      return client_;
    };
    const FaultRequest request{
        .head = head_, .head_block = block_, .route = route, .fetch_client = client};
    return MatchesFault(match, request);
  }

  RequestHead head_ = [] {
    RequestHead head;
    head.method = HttpMethod::kPost;
    head.target = "/api/users?id=7";
    return head;
  }();
  std::string block_ =
      "POST /api/users?id=7 HTTP/1.1\r\nHost: x\r\nX-User: test-42\r\nx-tier:  gold \r\n\r\n";
  SocketAddress client_ = V4("10.1.2.3");
  int client_lookups_ = 0;
};

TEST_F(FaultMatchTest, AnEmptyMatchHoldsForAnyRequestWithoutAskingForTheClient) {
  EXPECT_TRUE(Matches(FaultMatch{}));
  EXPECT_EQ(client_lookups_, 0);
}

TEST_F(FaultMatchTest, Methods) {
  FaultMatch match;
  match.methods = *MethodBit("GET") | *MethodBit("HEAD");
  EXPECT_FALSE(Matches(match));
  match.methods |= *MethodBit("POST");
  EXPECT_TRUE(Matches(match));
}

TEST_F(FaultMatchTest, PathPrefixAndExactPathIgnoringTheQuery) {
  FaultMatch match;
  match.path_prefix = "/api/";
  EXPECT_TRUE(Matches(match));
  match.path_prefix = "/apx";
  EXPECT_FALSE(Matches(match));
  match = FaultMatch{};
  match.path_exact = "/api/users";
  EXPECT_TRUE(Matches(match));
  match.path_exact = "/api/user";
  EXPECT_FALSE(Matches(match));
}

TEST_F(FaultMatchTest, HeadersPresentExactAndPrefixCaseInsensitiveNames) {
  FaultMatch match;
  match.headers = {{.name = "x-user", .kind = HeaderMatchKind::kPresent, .value = ""}};
  EXPECT_TRUE(Matches(match));
  match.headers = {{.name = "x-user", .kind = HeaderMatchKind::kExact, .value = "test-42"}};
  EXPECT_TRUE(Matches(match));
  match.headers = {{.name = "x-user", .kind = HeaderMatchKind::kExact, .value = "test"}};
  EXPECT_FALSE(Matches(match));
  match.headers = {{.name = "x-user", .kind = HeaderMatchKind::kPrefix, .value = "test"}};
  EXPECT_TRUE(Matches(match));
  // Surrounding whitespace is not part of the value.
  match.headers = {{.name = "x-tier", .kind = HeaderMatchKind::kExact, .value = "gold"}};
  EXPECT_TRUE(Matches(match));
  match.headers.push_back({.name = "x-absent", .kind = HeaderMatchKind::kPresent, .value = ""});
  EXPECT_FALSE(Matches(match)) << "every header condition must hold";
  // The request line is not a field.
  match.headers = {
      {.name = "post /api/users?id=7 http/1.1", .kind = HeaderMatchKind::kPresent, .value = ""}};
  EXPECT_FALSE(Matches(match));
}

TEST_F(FaultMatchTest, ClientRangesAnyOfThem) {
  FaultMatch match;
  match.clients = {Range("192.168.0.0/16")};
  EXPECT_FALSE(Matches(match));
  EXPECT_EQ(client_lookups_, 1);
  match.clients.push_back(Range("10.0.0.0/8"));
  EXPECT_TRUE(Matches(match));
  match.clients = {Range("10.1.2.2/31")};
  EXPECT_TRUE(Matches(match));
  match.clients = {Range("10.1.2.0/31")};
  EXPECT_FALSE(Matches(match));
  match.clients = {Range("0.0.0.0/0")};
  EXPECT_TRUE(Matches(match));
}

TEST_F(FaultMatchTest, IPv6AndMappedIPv4Clients) {
  FaultMatch match;
  client_ = V6("2001:db8::1");
  match.clients = {Range("2001:db8::/32")};
  EXPECT_TRUE(Matches(match));
  match.clients = {Range("2001:db9::/32")};
  EXPECT_FALSE(Matches(match));
  match.clients = {Range("10.0.0.0/8")};
  EXPECT_FALSE(Matches(match)) << "an IPv6 client is in no IPv4 range";
  client_ = V6("::ffff:10.9.9.9");
  EXPECT_TRUE(Matches(match)) << "IPv4 on a dual-stack socket";
}

TEST_F(FaultMatchTest, RouteAndUpstream) {
  RouteConfig route;
  route.prefix = "/api/";
  route.action = RouteAction::kProxy;
  route.upstreams = {Upstream{.address = "10.0.0.1:80", .resolved = {}}};
  FaultMatch match;
  match.route = "/api/";
  EXPECT_TRUE(Matches(match, &route));
  EXPECT_FALSE(Matches(match, nullptr));
  match = FaultMatch{};
  match.upstream = "10.0.0.1:80";
  EXPECT_TRUE(Matches(match, &route));
  match.upstream = "10.0.0.2:80";
  EXPECT_FALSE(Matches(match, &route));
}

TEST(ClientRangeTest, ParsesAndRefuses) {
  EXPECT_EQ(Range("10.0.0.0/8").prefix_length, 8);
  EXPECT_EQ(Range("127.0.0.1").prefix_length, 32);
  EXPECT_EQ(Range("::1").prefix_length, 128);
  EXPECT_FALSE(ParseClientRange("10.1.0.0/8").ok()) << "host bits past the prefix";
  EXPECT_FALSE(ParseClientRange("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseClientRange("10.0.0/8").ok());
  EXPECT_FALSE(ParseClientRange("example.com").ok());
}

TEST(TriggerValueTest, DelaysAndRates) {
  EXPECT_EQ(ParseTriggerDelay("250ms"), 250 * kMillisecond);
  EXPECT_EQ(ParseTriggerDelay("1.5s"), 1500 * kMillisecond);
  EXPECT_EQ(ParseTriggerDelay("40"), 40 * kMillisecond);
  EXPECT_EQ(ParseTriggerDelay("2 h"), std::nullopt);
  EXPECT_EQ(ParseTriggerDelay("-5ms"), std::nullopt);
  EXPECT_EQ(ParseTriggerDelay("fast"), std::nullopt);
  EXPECT_EQ(ParseTriggerRate("64KiB"), 65536u);
  EXPECT_EQ(ParseTriggerRate("1MB/s"), 1000000u);
  EXPECT_EQ(ParseTriggerRate("1000"), 1000u);
  EXPECT_EQ(ParseTriggerRate("64 kbps"), std::nullopt);
  EXPECT_EQ(ParseTriggerRate("0"), std::nullopt);
}

TEST(FindHeaderTest, FirstFieldOfThatName) {
  EXPECT_EQ(FindHeader("GET / HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n", "a"), "1");
  EXPECT_EQ(FindHeader("GET / HTTP/1.1\r\nA: 1\r\n\r\n", "b"), std::nullopt);
}

}  // namespace
}  // namespace proxynode
