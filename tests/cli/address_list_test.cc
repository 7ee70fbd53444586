// --addr expansion with an injected resolver (no DNS), and how the global flags resolve.

#include "cli/address_list.h"

#include <map>

#include "cli/context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A resolver from a fixed table, counting its calls.
struct FakeDns {
  std::map<std::string, std::vector<std::string>> records;
  int calls = 0;
  Resolver resolver() {
    return [this](const std::string& host) {
      ++calls;
      auto it = records.find(host);
      return it == records.end() ? std::vector<std::string>{} : it->second;
    };
  }
};

std::vector<std::string> Expand(const std::string& list, FakeDns& dns) {
  absl::StatusOr<std::vector<std::string>> expanded = ExpandAddressList(list, dns.resolver());
  EXPECT_TRUE(expanded.ok()) << expanded.status();
  return expanded.ok() ? *expanded : std::vector<std::string>{};
}

TEST(AddressListTest, ParsesHostPortForms) {
  absl::StatusOr<HostPort> plain = ParseHostPort("127.0.0.1:9091");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 9091);
  EXPECT_EQ(ParseHostPort("node-1")->ToString(), "node-1:9090");  // default port
  EXPECT_EQ(ParseHostPort("[::1]:7000")->host, "::1");
  EXPECT_EQ(ParseHostPort("[::1]:7000")->ToString(), "[::1]:7000");
  EXPECT_EQ(ParseHostPort("[fd00::7]")->ToString(), "[fd00::7]:9090");
}

TEST(AddressListTest, RefusesBadElementsNamingThem) {
  for (const char* bad : {":9090", "host:", "host:0", "host:65536", "host:http", "::1",
                          "fd00::1:9090", "[::1", "[::1]9090", "[nothost]:1", "a b:1", ""}) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(std::string("--addr ") + bad));
  }
}

TEST(AddressListTest, CommaListKeepsOrderAndPorts) {
  FakeDns dns;
  EXPECT_THAT(Expand("10.0.0.1:9090, 10.0.0.2:9191,[fd00::3]:9292", dns),
              ElementsAre("10.0.0.1:9090", "10.0.0.2:9191", "[fd00::3]:9292"));
  EXPECT_EQ(dns.calls, 0);  // IP literals are not resolved
}

TEST(AddressListTest, NameExpandsToEveryAddressWithItsPort) {
  FakeDns dns;
  dns.records["proxynode-headless"] = {"10.1.0.5", "10.1.0.6", "fd00::7"};
  EXPECT_THAT(Expand("proxynode-headless:9090", dns),
              ElementsAre("10.1.0.5:9090", "10.1.0.6:9090", "[fd00::7]:9090"));
  EXPECT_THAT(Expand("proxynode-headless:7000", dns),
              ElementsAre("10.1.0.5:7000", "10.1.0.6:7000", "[fd00::7]:7000"));
}

TEST(AddressListTest, DuplicatesAreDroppedFirstKept) {
  FakeDns dns;
  dns.records["a"] = {"10.0.0.1", "10.0.0.2"};
  dns.records["b"] = {"10.0.0.2", "10.0.0.3", "10.0.0.3"};
  EXPECT_THAT(Expand("10.0.0.2:9090,a:9090,b:9090,a:9091", dns),
              ElementsAre("10.0.0.2:9090", "10.0.0.1:9090", "10.0.0.3:9090", "10.0.0.1:9091",
                          "10.0.0.2:9091"));
}

TEST(AddressListTest, UnresolvableNameIsNotFound) {
  FakeDns dns;
  absl::StatusOr<std::vector<std::string>> expanded =
      ExpandAddressList("10.0.0.1:1,nosuch:9090", dns.resolver());
  ASSERT_FALSE(expanded.ok());
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(expanded.status().message()), HasSubstr("nosuch"));
}

TEST(AddressListTest, BadListSyntaxIsInvalidArgument) {
  FakeDns dns;
  for (const char* bad : {"", ",", "a:1,", "a:1,,b:2", "a:1,b:x"}) {
    absl::StatusOr<std::vector<std::string>> expanded = ExpandAddressList(bad, dns.resolver());
    ASSERT_FALSE(expanded.ok()) << bad;
    EXPECT_EQ(expanded.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(dns.calls, 0);  // syntax is checked before anything is resolved
}

TEST(ResolveContextTest, OneNodeWithoutAll) {
  FakeDns dns;
  GlobalOptions options;
  options.addr = "node-1";
  Context context;
  ASSERT_TRUE(ResolveContext(options, dns.resolver(), &context).ok());
  // Without --all a name that stands for one node is left to gRPC to connect to.
  EXPECT_THAT(context.addresses, ElementsAre("node-1:9090"));
  EXPECT_EQ(context.timeout, std::chrono::seconds(3));
  EXPECT_FALSE(context.json);
}

TEST(ResolveContextTest, ANameForSeveralNodesWithoutAllIsRefusedNamingThem) {
  FakeDns dns;
  dns.records["proxynode-headless"] = {"10.0.0.1", "10.0.0.2"};
  dns.records["localhost"] = {"127.0.0.1", "::1"};
  dns.records["one"] = {"10.0.0.3"};
  GlobalOptions options;
  options.addr = "proxynode-headless";
  Context context;
  Outcome refused = ResolveContext(options, dns.resolver(), &context);
  EXPECT_EQ(refused.exit_code, kExitUsage);
  EXPECT_EQ(refused.error,
            "--addr proxynode-headless resolves to 2 nodes (10.0.0.1:9090, 10.0.0.2:9090); pass "
            "--all to run the command on each, or name one");
  // Loopback under two families is one machine; one record is one node.
  for (const char* fine : {"localhost", "one:9091"}) {
    options.addr = fine;
    EXPECT_TRUE(ResolveContext(options, dns.resolver(), &context).ok()) << fine;
  }
}

TEST(ResolveContextTest, SeveralNodesNeedAll) {
  FakeDns dns;
  dns.records["svc"] = {"10.0.0.1", "10.0.0.2"};
  GlobalOptions options;
  options.addr = "10.0.0.9:1,svc:2";
  Context context;
  Outcome refused = ResolveContext(options, dns.resolver(), &context);
  EXPECT_EQ(refused.exit_code, kExitUsage);
  EXPECT_THAT(refused.error, HasSubstr("--all"));

  options.all = true;
  options.output = "json";
  options.timeout = "500ms";
  ASSERT_TRUE(ResolveContext(options, dns.resolver(), &context).ok());
  EXPECT_THAT(context.addresses, ElementsAre("10.0.0.9:1", "10.0.0.1:2", "10.0.0.2:2"));
  EXPECT_EQ(context.timeout, std::chrono::milliseconds(500));
  EXPECT_TRUE(context.json);
}

TEST(ResolveContextTest, BadTimeoutAndUnresolvableName) {
  FakeDns dns;
  GlobalOptions options;
  options.timeout = "soon";
  Context context;
  Outcome bad_timeout = ResolveContext(options, dns.resolver(), &context);
  EXPECT_EQ(bad_timeout.exit_code, kExitUsage);
  EXPECT_THAT(bad_timeout.error, HasSubstr("--timeout soon"));

  options.timeout = "1s";
  options.all = true;
  options.addr = "nosuch:9090";
  EXPECT_EQ(ResolveContext(options, dns.resolver(), &context).exit_code, kExitUnreachable);
}

}  // namespace
}  // namespace proxyctl
