// top's screen stays within 80x24 however much the node has to show.

#include "cli/top_view.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using ::testing::HasSubstr;

// A node with `workers` workers and `routes` routes, `requests` served by each.
proxynode::v1::Stats NodeStats(int workers, int routes, uint64_t requests, int64_t uptime_s) {
  proxynode::v1::Stats stats;
  stats.mutable_uptime()->set_seconds(uptime_s);
  stats.set_workers(static_cast<uint32_t>(workers));
  stats.mutable_total()->set_requests(requests * static_cast<uint64_t>(routes));
  for (int i = 0; i < workers; ++i) {
    auto* worker = stats.add_per_worker();
    worker->set_index(i);
    worker->mutable_counters()->set_connections_active(static_cast<uint64_t>(i));
  }
  for (int i = 0; i < routes; ++i) {
    auto* route = stats.add_routes();
    route->set_prefix("/route-" + std::to_string(i) + "/");
    route->set_requests(requests * static_cast<uint64_t>(i));
    route->set_errors(static_cast<uint64_t>(routes - i));
  }
  return stats;
}

void ExpectFits(const std::string& screen, size_t width, size_t height) {
  size_t lines = 0;
  for (size_t start = 0, end; start < screen.size(); start = end + 1, ++lines) {
    end = screen.find('\n', start);
    EXPECT_LE(end - start, width) << screen.substr(start, end - start);
  }
  EXPECT_LE(lines, height) << screen;
}

TEST(TopViewTest, ManyWorkersAndRoutesStillFitTheScreen) {
  const proxynode::v1::Stats before = NodeStats(64, 100, 10, 10);
  const proxynode::v1::Stats now = NodeStats(64, 100, 20, 11);
  TopViewOptions options{.address = "127.0.0.1:9090", .clock = "12:00:00", .interval = "1s"};
  options.keys = true;
  const std::string screen = RenderTop(now, &before, options);
  ExpectFits(screen, 80, 24);
  // The busiest are the ones shown: workers by connections, routes by requests per second.
  EXPECT_THAT(screen, ::testing::ContainsRegex("\n63 +63 "));
  EXPECT_THAT(screen, HasSubstr("route   /route-99/"));
  EXPECT_THAT(screen, ::testing::EndsWith("q quit   s sort (now: requests)   every 1s\n"));

  options.sort = TopSort::kErrors;
  EXPECT_THAT(RenderTop(now, &before, options), HasSubstr("route   /route-0/"));
  options.width = 60;
  options.height = 15;
  ExpectFits(RenderTop(now, &before, options), 60, 15);
}

// A TCP proxy is a row of its own: its connections as requests, the ones that did not get
// through as errors.
TEST(TopViewTest, TcpProxiesAreRowsOfTheirOwn) {
  proxynode::v1::Stats before = NodeStats(2, 0, 0, 10);
  proxynode::v1::Stats now = NodeStats(2, 0, 0, 12);
  for (auto [stats, connections] : {std::pair{&before, 100}, std::pair{&now, 300}}) {
    auto* proxy = stats->add_tcp_proxies();
    proxy->set_name("redis");
    proxy->set_connections(static_cast<uint64_t>(connections));
    proxy->set_connect_failures(2);
    proxy->set_refused(3);
  }
  TopViewOptions options{.address = "127.0.0.1:9090", .clock = "12:00:00", .interval = "1s"};
  EXPECT_THAT(RenderTop(now, &before, options),
              ::testing::ContainsRegex("\ntcp +redis +300 +100.0 +5 +-\n"));
}

TEST(TopViewTest, SortKeysCycle) {
  TopSort sort = TopSort::kRequests;
  std::string seen;
  for (int i = 0; i < 4; ++i) {
    seen += std::string(TopSortName(sort)) + " ";
    sort = NextTopSort(sort);
  }
  EXPECT_EQ(seen, "requests errors p99 name ");
  EXPECT_EQ(sort, TopSort::kRequests);
}

}  // namespace
}  // namespace proxyctl
