// The pool of proxied exchanges a worker reuses: an exchange given back is not lent again
// before the loop's timers run (its own callback may still be on the stack), and once
// recycled it is lent again without allocating, with its snapshot unpinned and its timer
// silent. Timers are run by hand (TimerQueue::RunExpired); nothing connects anywhere: every
// exchange here waits out a delay and is abandoned before it ends.

#include "dataplane/proxy/proxy_exchange_pool.h"

#include <memory>
#include <vector>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/stats/proxy_stats.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

class CountingClient : public ProxyExchange::Client {
 public:
  void OnProxyProgress() override { ++progress_calls; }
  int progress_calls = 0;
};

ConfigSnapshotPtr ConfigWithVersion(uint64_t version) {
  auto config = std::make_shared<NodeConfig>();
  config->version = version;
  return config;
}

class ProxyExchangePoolTest : public ::testing::Test {
 protected:
  ProxyExchangePoolTest() {
    route_.prefix = "/";
    route_.action = RouteAction::kProxy;
    route_.upstreams.push_back(Upstream{.address = "127.0.0.1:9", .resolved = {}});
  }

  // Starts `exchange` on a request that waits `delay` before connecting.
  void StartDelayed(ProxyExchange& exchange, Nanos delay) {
    RequestHead head;
    head.target = "/";
    exchange.Start(client_, snapshots_.Pin(), route_, upstreams_.ForRoute("/"), head,
                   "GET / HTTP/1.1\r\nHost: t\r\n\r\n", "127.0.0.1", delay);
  }
  // Runs the timers due `after` from the loop's current time.
  void RunTimers(Nanos after = 0) { loop_.timers().RunExpired(loop_.now() + after); }

  EventLoop loop_;
  BufferPool buffers_{loop_, 4};
  SnapshotCache snapshots_{ConfigWithVersion(1)};
  DateHeaderCache date_;
  ProxyStatsRegistry registry_;
  UpstreamPools upstreams_{loop_, buffers_, registry_, 0};
  ProxyContext proxy_context_{loop_, buffers_, date_, upstreams_};
  ProxyExchangePool pool_{proxy_context_};
  RouteConfig route_;
  CountingClient client_;
};

TEST_F(ProxyExchangePoolTest, AnExchangeGivenBackIsLentAgainOnlyAfterTheTimersRan) {
  std::unique_ptr<ProxyExchange> first = pool_.Acquire();
  ProxyExchange* const first_address = first.get();
  StartDelayed(*first, kSecond);
  first->Abandon();
  pool_.Release(std::move(first));

  // Still in the same call chain: the released exchange must not come back yet.
  std::unique_ptr<ProxyExchange> second = pool_.Acquire();
  EXPECT_NE(second.get(), first_address);
  EXPECT_EQ(pool_.created(), 2u);
  EXPECT_EQ(pool_.free_count(), 0u);

  RunTimers();
  EXPECT_EQ(pool_.free_count(), 1u);
  std::unique_ptr<ProxyExchange> third = pool_.Acquire();
  EXPECT_EQ(third.get(), first_address);
  EXPECT_EQ(pool_.created(), 2u) << "a recycled exchange is reused without allocating";
  pool_.Release(std::move(second));
  pool_.Release(std::move(third));
}

TEST_F(ProxyExchangePoolTest, RecyclingUnpinsTheSnapshotAndSilencesTheDelay) {
  std::unique_ptr<ProxyExchange> exchange = pool_.Acquire();
  StartDelayed(*exchange, kSecond);
  snapshots_.Publish(ConfigWithVersion(2));
  EXPECT_EQ(snapshots_.live_count(), 2u) << "the exchange pins the snapshot it started under";

  exchange->Abandon();
  pool_.Release(std::move(exchange));
  EXPECT_EQ(snapshots_.live_count(), 2u) << "not recycled before the timers run";
  RunTimers();
  EXPECT_EQ(snapshots_.live_count(), 1u);

  RunTimers(2 * kSecond);  // past the abandoned request's delay
  EXPECT_EQ(client_.progress_calls, 0) << "an abandoned exchange called its client back";
}

TEST_F(ProxyExchangePoolTest, ARecycledExchangeStartsAfresh) {
  std::unique_ptr<ProxyExchange> exchange = pool_.Acquire();
  StartDelayed(*exchange, kSecond);
  exchange->Abandon();
  EXPECT_EQ(exchange->outcome(), ProxyExchange::Outcome::kAborted);
  pool_.Release(std::move(exchange));
  RunTimers();

  exchange = pool_.Acquire();
  StartDelayed(*exchange, kSecond);
  EXPECT_EQ(exchange->outcome(), ProxyExchange::Outcome::kPending)
      << "the abandoned state of the exchange's last request stayed";
  EXPECT_FALSE(exchange->head_forwarded());
  EXPECT_EQ(exchange->error_status(), 0);
  exchange->Abandon();
  pool_.Release(std::move(exchange));
}

}  // namespace
}  // namespace proxynode
