// The config pipeline over a real data plane, serving on loopback (port 0, one worker): the CAS
// check, validation, the drain and name resolution each refuse a change whole with nothing
// published; changes from several threads are applied one at a time with strictly increasing
// versions; resolution runs on the pipeline's thread, not the caller's; stopping it answers
// every change exactly once.

#include "controlplane/config_pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/upstream_resolver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/controlplane/serving_dataplane.h"

namespace proxynode {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// UpdateConfig's change of `body` alone.
ConfigChange BodyChange(const std::string& body, uint64_t expected_version = 0) {
  FieldMaskUpdate update;
  update.fields.set_body(body);
  update.mask.add_paths("body");
  return ConfigChange{.source = ConfigSource::kGrpc,
                      .origin = "test",
                      .expected_version = expected_version,
                      .update = std::move(update)};
}

class ConfigPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dataplane_ = testing::StartServingDataplane();
    ASSERT_NE(dataplane_, nullptr);
  }

  void TearDown() override {
    pipeline_.reset();  // before the data plane it publishes to
    if (dataplane_ != nullptr) {
      dataplane_->Stop();
    }
  }

  void StartPipeline(ConfigPipeline::Resolver resolve = &ResolveUpstreams) {
    pipeline_ = std::make_unique<ConfigPipeline>(*dataplane_, std::move(resolve));
  }

  std::unique_ptr<Dataplane> dataplane_;
  std::unique_ptr<ConfigPipeline> pipeline_;
};

TEST_F(ConfigPipelineTest, AnAcceptedChangeIsPublishedAsTheNextVersion) {
  StartPipeline();
  ConfigOutcome outcome = pipeline_->Apply(BodyChange("changed\n"));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->changed);
  EXPECT_EQ(outcome->config->version, 2u);
  EXPECT_EQ(outcome->config->body, "changed\n");
  EXPECT_GT(outcome->apply_time, 0);
  EXPECT_EQ(dataplane_->config(), outcome->config);
}

TEST_F(ConfigPipelineTest, AVersionMismatchIsRefusedWhole) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  ConfigOutcome outcome = pipeline_->Apply(BodyChange("changed\n", /*expected_version=*/5));
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(outcome.status().message(),
            "expected_version 5 but the config is at version 1: read it again and retry");
  EXPECT_EQ(dataplane_->config(), before);  // nothing published
  // The running version is what a matching CAS names, and it passes.
  ConfigOutcome matching = pipeline_->Apply(BodyChange("changed\n", /*expected_version=*/1));
  ASSERT_TRUE(matching.ok()) << matching.status();
  EXPECT_EQ(matching->config->version, 2u);
}

TEST_F(ConfigPipelineTest, AnInvalidFieldIsRefusedByNameAndNothingIsPublished) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  FieldMaskUpdate update;
  update.fields.set_workers(0);
  update.mask.add_paths("workers");
  ConfigOutcome outcome = pipeline_->Apply(ConfigChange{.source = ConfigSource::kGrpc,
                                                        .origin = "test",
                                                        .expected_version = 0,
                                                        .update = std::move(update)});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome.status().message(), "workers: 0 is out of range [1, 256]");
  EXPECT_EQ(dataplane_->config(), before);
  EXPECT_EQ(dataplane_->worker_count(), 1u);
}

TEST_F(ConfigPipelineTest, AWholeConfigIsValidatedToo) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  NodeConfig whole = *before;
  whole.max_header_bytes = 1;
  ConfigOutcome outcome = pipeline_->Apply(ConfigChange{.source = ConfigSource::kConfigFile,
                                                        .origin = "node.textproto",
                                                        .expected_version = 0,
                                                        .update = whole});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outcome.status().message()), StartsWith("max_header_bytes: 1 "));
  EXPECT_EQ(dataplane_->config(), before);
}

TEST_F(ConfigPipelineTest, ADrainingNodeRefusesEveryChange) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  dataplane_->BeginDrain();
  ConfigOutcome update = pipeline_->Apply(BodyChange("changed\n"));
  EXPECT_EQ(update.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(update.status().message(),
            "the node is draining and will exit; change the config of the nodes that stay");
  NodeConfig whole = *before;
  whole.body = "from the file\n";
  ConfigOutcome file = pipeline_->Apply(ConfigChange{.source = ConfigSource::kConfigFile,
                                                     .origin = "node.textproto",
                                                     .expected_version = 0,
                                                     .update = whole});
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file.status().message(), "the node is draining; the config stays as it is");
  EXPECT_EQ(dataplane_->config(), before);
}

TEST_F(ConfigPipelineTest, ANameThatDoesNotResolveIsRefusedNamingTheField) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  FieldMaskUpdate update;
  v1::Route* route = update.fields.add_routes();
  route->set_prefix("/api/");
  route->set_action(v1::Route::PROXY);
  route->add_upstreams("127.0.0.1:8081");
  route->add_upstreams("nohost.invalid:80");
  update.mask.add_paths("routes");
  ConfigOutcome outcome = pipeline_->Apply(ConfigChange{.source = ConfigSource::kGrpc,
                                                        .origin = "test",
                                                        .expected_version = 0,
                                                        .update = std::move(update)});
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outcome.status().message()),
              StartsWith("routes[0].upstreams[1]: \"nohost.invalid:80\" does not resolve: "));
  EXPECT_EQ(dataplane_->config(), before);
}

TEST_F(ConfigPipelineTest, AnUnchangedWholeConfigKeepsTheVersion) {
  StartPipeline();
  const ConfigSnapshotPtr before = dataplane_->config();
  ConfigOutcome outcome = pipeline_->Apply(ConfigChange{.source = ConfigSource::kConfigFile,
                                                        .origin = "node.textproto",
                                                        .expected_version = 0,
                                                        .update = NodeConfig(*before)});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->changed);
  EXPECT_EQ(outcome->config, before);
  EXPECT_EQ(dataplane_->config(), before);
}

TEST_F(ConfigPipelineTest, ChangesFromTwoThreadsApplyOneAtATimeInOrder) {
  // The resolver sees whether two changes are ever inside the pipeline at once.
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  StartPipeline([&](NodeConfig&) {
    const int now = inside.fetch_add(1) + 1;
    int seen = most_inside.load();
    while (now > seen && !most_inside.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::yield();  // leaves room for an overlap, were there any
    inside.fetch_sub(1);
    return absl::OkStatus();
  });
  constexpr size_t kEach = 25;
  auto submit_all = [&](const std::string& name, std::vector<uint64_t>* versions) {
    std::vector<std::future<ConfigOutcome>> outcomes;
    for (size_t i = 0; i < kEach; ++i) {
      auto promise = std::make_shared<std::promise<ConfigOutcome>>();
      outcomes.push_back(promise->get_future());
      pipeline_->Submit(BodyChange(name + std::to_string(i)),
                        [promise](ConfigOutcome outcome) { promise->set_value(outcome); });
    }
    for (std::future<ConfigOutcome>& outcome : outcomes) {
      ConfigOutcome result = outcome.get();
      versions->push_back(result.ok() ? result->config->version : 0);
    }
  };
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  std::thread first(submit_all, "a", &a);
  std::thread second(submit_all, "b", &b);
  first.join();
  second.join();

  EXPECT_EQ(most_inside.load(), 1);
  // Each thread's changes in the order it submitted them...
  ASSERT_EQ(a.size(), kEach);
  ASSERT_EQ(b.size(), kEach);
  for (size_t i = 1; i < kEach; ++i) {
    EXPECT_LT(a[i - 1], a[i]) << i;
    EXPECT_LT(b[i - 1], b[i]) << i;
  }
  // ...and together every version from 2 on exactly once.
  std::vector<uint64_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i], i + 2);
  }
  EXPECT_EQ(dataplane_->config()->version, uint64_t{2 * kEach + 1});
}

TEST_F(ConfigPipelineTest, ResolutionRunsOnThePipelinesThreadNotTheCallers) {
  std::promise<std::thread::id> resolved_on;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  StartPipeline([&](NodeConfig& config) {
    resolved_on.set_value(std::this_thread::get_id());
    // A slow name server. Bounded: were this the caller's thread, the test would still end.
    released.wait_for(std::chrono::seconds(5));
    return ResolveUpstreams(config);
  });
  std::promise<ConfigOutcome> done;
  // Submit returns while the resolution still waits: a gRPC callback thread is never held.
  pipeline_->Submit(BodyChange("changed\n"),
                    [&done](ConfigOutcome outcome) { done.set_value(std::move(outcome)); });
  const std::thread::id resolver_thread = resolved_on.get_future().get();
  EXPECT_NE(resolver_thread, std::this_thread::get_id());
  release.set_value();
  ConfigOutcome outcome = done.get_future().get();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->config->version, 2u);
}

TEST_F(ConfigPipelineTest, StoppingAnswersEveryQueuedChangeOnce) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first = true;
  StartPipeline([&](NodeConfig&) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
    return absl::OkStatus();
  });
  constexpr size_t kChanges = 3;
  std::atomic<int> answers[kChanges] = {0, 0, 0};
  absl::StatusCode codes[kChanges] = {};
  for (size_t i = 0; i < kChanges; ++i) {
    pipeline_->Submit(BodyChange("x" + std::to_string(i)), [&, i](ConfigOutcome outcome) {
      codes[i] = outcome.status().code();
      answers[i].fetch_add(1);
    });
  }
  entered.get_future().wait();  // the first change is inside, the others queued
  std::thread stopper([this] { pipeline_.reset(); });
  release.set_value();
  stopper.join();
  // A published change is answered by the worker that applied it last, maybe after the join.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto all_answered = [&] {
    return std::all_of(std::begin(answers), std::end(answers), [](auto& n) { return n > 0; });
  };
  while (!all_answered() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  for (size_t i = 0; i < kChanges; ++i) {
    EXPECT_EQ(answers[i].load(), 1) << i;
  }
  // The first change was inside before the stop, so it went through. The queued ones were
  // taken before the stop or refused by it, in their order: never a refused one before a
  // taken one.
  EXPECT_EQ(codes[0], absl::StatusCode::kOk);
  for (size_t i = 1; i < kChanges; ++i) {
    EXPECT_TRUE(codes[i] == absl::StatusCode::kOk || codes[i] == absl::StatusCode::kUnavailable)
        << i;
    if (codes[i - 1] == absl::StatusCode::kUnavailable) {
      EXPECT_EQ(codes[i], absl::StatusCode::kUnavailable) << i;
    }
  }
}

}  // namespace
}  // namespace proxynode

namespace proxynode {
namespace {

// Fault rules `names`, each expiring `after` from now (0: never).
ConfigChange FaultsChange(std::vector<std::pair<std::string, Nanos>> rules) {
  FieldMaskUpdate update;
  const int64_t now = RealtimeNanos();
  for (const auto& [name, after] : rules) {
    v1::FaultRule* rule = update.fields.add_faults();
    rule->set_name(name);
    rule->mutable_abort()->set_kind(v1::AbortFault::CLOSE);
    if (after != 0) {
      rule->mutable_expires_at()->set_seconds((now + after) / kSecond);
      rule->mutable_expires_at()->set_nanos(static_cast<int32_t>((now + after) % kSecond));
    }
  }
  update.mask.add_paths("faults");
  return ConfigChange{.source = ConfigSource::kGrpc,
                      .origin = "test",
                      .expected_version = 0,
                      .update = std::move(update)};
}

std::vector<std::string> RuleNames(const ConfigSnapshot& config) {
  std::vector<std::string> names;
  for (const FaultRule& rule : config.faults) names.push_back(rule.name);
  return names;
}

TEST_F(ConfigPipelineTest, ExpiredFaultRulesAreRemovedOnTimeAsANewVersion) {
  StartPipeline();
  ConfigOutcome set = pipeline_->Apply(
      FaultsChange({{"short", 150 * kMillisecond}, {"forever", 0}, {"later", 400 * kMillisecond}}));
  ASSERT_TRUE(set.ok()) << set.status();
  const int64_t short_expiry = set->config->faults[0].expires_at_unix_nanos;
  const int64_t later_expiry = set->config->faults[2].expires_at_unix_nanos;
  const uint64_t version = set->config->version;

  // Nobody asks: the pipeline removes each rule by itself, within 50 ms of its time.
  auto wait_for_version = [&](uint64_t wanted) {
    while (dataplane_->config()->version < wanted) {
      ASSERT_LT(RealtimeNanos(), later_expiry + kSecond) << "no expiry happened";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  wait_for_version(version + 1);
  EXPECT_LT(RealtimeNanos() - short_expiry, 50 * kMillisecond);
  EXPECT_GE(RealtimeNanos(), short_expiry);
  EXPECT_THAT(RuleNames(*dataplane_->config()), ElementsAre("forever", "later"));
  wait_for_version(version + 2);
  EXPECT_LT(RealtimeNanos() - later_expiry, 50 * kMillisecond);
  EXPECT_THAT(RuleNames(*dataplane_->config()), ElementsAre("forever"));
  // Nothing left to expire: the version stays.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(dataplane_->config()->version, version + 2);
}

TEST_F(ConfigPipelineTest, ARuleSetAlreadyExpiredGoesAtOnce) {
  StartPipeline();
  ConfigOutcome set = pipeline_->Apply(FaultsChange({{"stale", -kSecond}}));
  ASSERT_TRUE(set.ok()) << set.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!dataplane_->config()->faults.empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(dataplane_->config()->version, set->config->version + 1);
}

}  // namespace
}  // namespace proxynode
