// Upstream resolution: literals, a name from /etc/hosts, a name that does not resolve, and
// upstreams already resolved left alone.

#include "controlplane/upstream_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

using ::testing::StartsWith;

NodeConfig WithPool(const std::vector<std::string>& addresses) {
  RouteConfig route;
  route.action = RouteAction::kProxy;
  for (const std::string& address : addresses) route.upstreams.push_back(Upstream{address, {}});
  NodeConfig config;
  config.routes = {route};
  return config;
}

TEST(UpstreamResolverTest, NumericAddressesResolveAsTheyAre) {
  NodeConfig config = WithPool({"127.0.0.1:8081", "[::1]:9000"});
  ASSERT_TRUE(ResolveUpstreams(config).ok());
  const SocketAddress& v4 = config.routes[0].upstreams[0].resolved;
  ASSERT_EQ(v4.storage.ss_family, AF_INET);
  EXPECT_EQ(v4.length, sizeof(sockaddr_in));
  EXPECT_EQ(v4.ToString(), "127.0.0.1:8081");
  const SocketAddress& v6 = config.routes[0].upstreams[1].resolved;
  ASSERT_EQ(v6.storage.ss_family, AF_INET6);
  EXPECT_EQ(v6.length, sizeof(sockaddr_in6));
  EXPECT_EQ(v6.port(), 9000);
}

TEST(UpstreamResolverTest, LocalhostResolves) {
  NodeConfig config = WithPool({"localhost:80"});
  absl::Status status = ResolveUpstreams(config);
  ASSERT_TRUE(status.ok()) << status;
  const SocketAddress& resolved = config.routes[0].upstreams[0].resolved;
  EXPECT_GT(resolved.length, 0u);
  EXPECT_TRUE(resolved.storage.ss_family == AF_INET || resolved.storage.ss_family == AF_INET6);
  EXPECT_EQ(resolved.port(), 80);
}

TEST(UpstreamResolverTest, AnUnknownNameIsRefusedNamingTheField) {
  NodeConfig config = WithPool({"127.0.0.1:80", "nohost.invalid:80"});
  RouteConfig respond;  // a respond route first
  config.routes.push_back(respond);
  std::swap(config.routes[0], config.routes[1]);
  absl::Status status = ResolveUpstreams(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("routes[1].upstreams[1]: \"nohost.invalid:80\" does not resolve: "));
  // The resolver's own reason follows, e.g. "Name or service not known".
  EXPECT_GT(status.message().size(),
            std::string("routes[1].upstreams[1]: \"nohost.invalid:80\" does not resolve: ").size());
}

TEST(UpstreamResolverTest, ResolvedUpstreamsAreKept) {
  NodeConfig config = WithPool({"127.0.0.1:8081"});
  ASSERT_TRUE(ResolveUpstreams(config).ok());
  // Carried over from a running config: kept, even if it would no longer resolve.
  config.routes[0].upstreams[0].address = "nohost.invalid:80";
  ASSERT_TRUE(ResolveUpstreams(config).ok());
  EXPECT_EQ(config.routes[0].upstreams[0].resolved.ToString(), "127.0.0.1:8081");
}

TEST(UpstreamResolverTest, NoRoutesNothingToDo) {
  NodeConfig config;
  EXPECT_TRUE(ResolveUpstreams(config).ok());
}

}  // namespace
}  // namespace proxynode
