// `proxyctl stats` with TCP proxies (issue 19): a row per proxy with its relays, bytes each
// way, spliced bytes, what went wrong or was injected, and its toxics' draws summed; a node
// without proxies shows no such table.

#include <string>

#include "cli/stats_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatsViewTcpTest, OneRowPerProxyWhenThereAreAny) {
  proxynode::v1::Stats stats;
  StatsViewOptions options;
  options.address = "127.0.0.1:9090";
  EXPECT_THAT(RenderStats(stats, nullptr, options), Not(HasSubstr("TCP_PROXY")));

  proxynode::v1::TcpProxyStats& redis = *stats.add_tcp_proxies();
  redis.set_name("redis");
  redis.set_connections(12);
  redis.set_active(3);
  redis.set_bytes_upstream(2048);
  redis.set_bytes_downstream(3 * 1024 * 1024);
  redis.set_bytes_spliced(1024);
  redis.set_connect_failures(1);
  redis.set_resets_injected(2);
  redis.set_timeouts_injected(4);
  redis.set_refused(5);
  for (int applied : {6, 1}) {
    proxynode::v1::ToxicStats& toxic = *redis.add_toxics();
    toxic.set_applied(static_cast<uint64_t>(applied));
    toxic.set_skipped(2);
  }
  const std::string view = RenderStats(stats, nullptr, options);
  EXPECT_THAT(view, ContainsRegex("\nTCP_PROXY +CONNECTIONS +ACTIVE +BYTES_UP +BYTES_DOWN +SPLICED "
                                  "+CONNECT_FAILS +RESETS +TIMEOUTS +REFUSED +TOXICS_APPLIED "
                                  "+TOXICS_SKIPPED\nredis +12 +3 +2(\\.0)?KiB +3(\\.0)?MiB "
                                  "+1(\\.0)?KiB +1 +2 +4 +5 +7 +4\n"));
}

}  // namespace
}  // namespace proxyctl
