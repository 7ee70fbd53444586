#include "dataplane/stats/stats_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "dataplane/core/clock.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode {
namespace {

TEST(WorkerStatsTest, CountResponseByClass) {
  auto stats = std::make_unique<WorkerStats>();
  for (int status : {100, 200, 204, 301, 404, 429, 500, 503, 600}) {
    stats->CountResponse(status);
  }
  EXPECT_EQ(stats->responses_1xx.Get(), 1u);
  EXPECT_EQ(stats->responses_2xx.Get(), 2u);
  EXPECT_EQ(stats->responses_3xx.Get(), 1u);
  EXPECT_EQ(stats->responses_4xx.Get(), 2u);
  EXPECT_EQ(stats->responses_5xx.Get(), 3u);  // anything else counts as 5xx
}

TEST(StatsValuesTest, TotalsOfRejectionsAndResponses) {
  StatsValues v;
  v.rejected.rate_limited = 2;
  v.rejected.max_pending = 3;
  v.rejected.bad_request = 4;
  v.responses_2xx = 10;
  v.responses_5xx = 1;
  EXPECT_EQ(v.rejected_total(), 9u);
  EXPECT_EQ(v.responses_total(), 11u);
}

class StatsRegistryTest : public testing::Test {
 protected:
  StatsRegistryTest() {
    a_->requests.Add(5);
    a_->bytes_in.Add(1000);
    a_->responses_2xx.Add(4);
    a_->rejected.rate_limited.Add(1);
    a_->connections_active.Set(3);
    a_->request_latency.Record(100 * kMillisecond);

    b_->requests.Add(7);
    b_->bytes_in.Add(24);
    b_->responses_2xx.Add(6);
    b_->responses_5xx.Add(1);
    b_->rejected.rate_limited.Add(2);
    b_->rejected.max_connections.Add(4);
    b_->connections_active.Set(2);
    b_->pending_timers.Set(1);
    b_->request_latency.Record(200 * kMillisecond);
    b_->request_latency.Record(300 * kMillisecond);
    b_->timer_lateness.Record(50 * kMicrosecond);

    registry_.AddWorker(0, a_);
    registry_.AddWorker(1, b_);
  }

  std::shared_ptr<WorkerStats> a_ = std::make_shared<WorkerStats>();
  std::shared_ptr<WorkerStats> b_ = std::make_shared<WorkerStats>();
  StatsRegistry registry_;
};

TEST_F(StatsRegistryTest, CountersOfTwoWorkersSum) {
  const StatsSnapshot s = registry_.Collect();
  EXPECT_EQ(s.total.requests, 12u);
  EXPECT_EQ(s.total.bytes_in, 1024u);
  EXPECT_EQ(s.total.responses_2xx, 10u);
  EXPECT_EQ(s.total.responses_total(), 11u);
  EXPECT_EQ(s.total.rejected.rate_limited, 3u);
  EXPECT_EQ(s.total.rejected.max_connections, 4u);
  EXPECT_EQ(s.total.rejected_total(), 7u);
  EXPECT_EQ(s.total.connections_active, 5);
  EXPECT_EQ(s.total.pending_timers, 1);
  EXPECT_EQ(s.request_latency.count(), 3u);
  EXPECT_EQ(s.timer_lateness.count(), 1u);
}

// The total's timer lateness is the sum of the rows shown beside it, even while a worker
// records between the reads (WatchStats subtracts both, and they must agree).
TEST_F(StatsRegistryTest, LatenessTotalIsTheSumOfTheWorkerRowsWhileAWorkerRecords) {
  std::atomic<bool> stop{false};
  std::thread recorder([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      a_->timer_lateness.Record(kMillisecond);
    }
  });
  int mismatches = 0;
  for (int i = 0; i < 2000; ++i) {
    const StatsSnapshot s = registry_.Collect();
    uint64_t rows = 0;
    for (const WorkerStatsValues& worker : s.workers) rows += worker.timer_lateness.count();
    mismatches += rows != s.timer_lateness.count() ? 1 : 0;
  }
  stop = true;
  recorder.join();
  EXPECT_EQ(mismatches, 0);
}

TEST_F(StatsRegistryTest, PerWorkerValues) {
  const StatsSnapshot s = registry_.Collect();
  ASSERT_EQ(s.workers.size(), 2u);
  EXPECT_EQ(s.workers[0].index, 0);
  EXPECT_EQ(s.workers[0].values.requests, 5u);
  EXPECT_EQ(s.workers[0].values.connections_active, 3);
  EXPECT_EQ(s.workers[1].index, 1);
  EXPECT_EQ(s.workers[1].values.requests, 7u);
  EXPECT_EQ(s.workers[1].values.rejected.max_connections, 4u);
}

TEST_F(StatsRegistryTest, CollectSeesLaterUpdates) {
  a_->requests.Add(100);
  b_->connections_active.Add(-2);
  const StatsSnapshot s = registry_.Collect();
  EXPECT_EQ(s.total.requests, 112u);
  EXPECT_EQ(s.total.connections_active, 3);
}

TEST_F(StatsRegistryTest, RetireWorkerKeepsItsCountsInTheTotals) {
  registry_.RetireWorker(1);
  b_->requests.Add(1000);  // counts after retirement are not picked up
  const StatsSnapshot s = registry_.Collect();
  ASSERT_EQ(s.workers.size(), 1u);
  EXPECT_EQ(s.workers[0].index, 0);
  EXPECT_EQ(s.total.requests, 12u);
  EXPECT_EQ(s.total.bytes_in, 1024u);
  EXPECT_EQ(s.total.responses_5xx, 1u);
  EXPECT_EQ(s.total.rejected.rate_limited, 3u);
  EXPECT_EQ(s.total.rejected.max_connections, 4u);
  // Its gauges are dropped.
  EXPECT_EQ(s.total.connections_active, 3);
  EXPECT_EQ(s.total.pending_timers, 0);
  // Its histograms stay.
  EXPECT_EQ(s.request_latency.count(), 3u);
  EXPECT_EQ(s.timer_lateness.count(), 1u);
}

TEST_F(StatsRegistryTest, RetiredCountsAddToLaterUpdatesOfTheOthers) {
  registry_.RetireWorker(1);
  a_->requests.Add(1);
  EXPECT_EQ(registry_.Collect().total.requests, 13u);
  registry_.RetireWorker(0);
  const StatsSnapshot s = registry_.Collect();
  EXPECT_TRUE(s.workers.empty());
  EXPECT_EQ(s.total.requests, 13u);
  EXPECT_EQ(s.total.connections_active, 0);
  EXPECT_EQ(s.request_latency.count(), 3u);
}

TEST_F(StatsRegistryTest, RetiringTwiceOrAnUnknownWorkerChangesNothing) {
  registry_.RetireWorker(1);
  registry_.RetireWorker(1);
  registry_.RetireWorker(42);
  const StatsSnapshot s = registry_.Collect();
  EXPECT_EQ(s.total.requests, 12u);
  EXPECT_EQ(s.request_latency.count(), 3u);
}

TEST(StatsRegistryConcurrencyTest, TotalsNeverGoBackwardsWhileWorkersWrite) {
  StatsRegistry registry;
  auto stats = std::make_shared<WorkerStats>();
  registry.AddWorker(0, stats);
  constexpr uint64_t kAdds = 50'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kAdds; ++i) {
      stats->requests.Add();
      stats->bytes_out.Add(2);
    }
    done.store(true);
  });
  uint64_t last = 0;
  bool backwards = false;
  while (!done.load()) {
    const uint64_t now = registry.Collect().total.requests;
    backwards |= now < last;
    last = now;
  }
  writer.join();
  EXPECT_FALSE(backwards);
  const StatsSnapshot s = registry.Collect();
  EXPECT_EQ(s.total.requests, kAdds);
  EXPECT_EQ(s.total.bytes_out, 2 * kAdds);
}

}  // namespace
}  // namespace proxynode
