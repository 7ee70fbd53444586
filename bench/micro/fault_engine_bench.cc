// Google Benchmark micro-benchmarks of the fault engine (dataplane/server/worker_faults.h):
// what a request costs when the config has fault rules.
//
//  - BM_Match32Rules: 32 rules of every match kind (paths, methods, headers present, exact
//    and prefix, client ranges, routes), of which only the last matches, and it draws a
//    log-normal delay: the whole per-request decision, rules tried in order.
//  - BM_Match32RulesNoneMatch: the same 32 rules with the last one aimed elsewhere: the
//    cost a request pays when no rule applies.
//  - BM_DrawDelay/<shape>: one draw from each distribution.
//
// Counter: items_per_second (requests, or draws). Run with bench/micro.sh.

#include <benchmark/benchmark.h>
#include <netinet/in.h>

#include <string>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/fault/delay_distribution.h"
#include "dataplane/fault/fault_random.h"
#include "dataplane/server/worker_faults.h"

namespace proxynode {
namespace {

DelayDistribution LogNormal() {
  DelayDistribution d;
  d.shape = DelayShape::kLogNormal;
  d.median = 40 * kMillisecond;
  d.p99 = 900 * kMillisecond;
  return d;
}

// Rule i of 32 misses a typical request in a different way; the last one matches it when
// `last_matches`.
NodeConfig ThirtyTwoRules(bool last_matches) {
  NodeConfig config;
  config.version = 2;
  config.fault_seed = 1;
  RouteConfig route;
  route.prefix = "/api/";
  config.routes = {route};
  for (int i = 0; i < 32; ++i) {
    FaultRule rule;
    rule.name = "rule-" + std::to_string(i);
    rule.abort.kind = AbortKind::kStatus;
    switch (i % 6) {
      case 0:
        rule.match.path_prefix = "/other-" + std::to_string(i) + "/";
        break;
      case 1:
        rule.match.methods = *MethodBit("DELETE");
        break;
      case 2:
        rule.match.headers = {{.name = "x-user",
                               .kind = HeaderMatchKind::kExact,
                               .value = "user-" + std::to_string(i)}};
        break;
      case 3:
        rule.match.headers = {{.name = "x-absent-" + std::to_string(i),
                               .kind = HeaderMatchKind::kPresent,
                               .value = ""}};
        break;
      case 4:
        rule.match.clients = {*ParseClientRange("10.0.0.0/8")};
        break;
      case 5:
        rule.match.path_exact = "/api/exact-" + std::to_string(i);
        break;
    }
    config.faults.push_back(rule);
  }
  FaultRule& last = config.faults.back();
  last.match = FaultMatch{};
  last.match.route = "/api/";
  last.match.headers = {{.name = "x-user",
                         .kind = HeaderMatchKind::kPrefix,
                         .value = last_matches ? "test" : "nobody"}};
  last.abort.kind = AbortKind::kNone;
  last.delay = DelayFault{.distribution = LogNormal(), .target = DelayTarget::kRequest};
  return config;
}

void RunDecisions(benchmark::State& state, bool last_matches) {
  const NodeConfig config = ThirtyTwoRules(last_matches);
  RequestHead head;
  head.method = HttpMethod::kGet;
  head.target = "/api/users/42?fields=name";
  const std::string block =
      "GET /api/users/42?fields=name HTTP/1.1\r\nHost: api.example\r\nUser-Agent: bench\r\n"
      "Accept: */*\r\nX-User: test-7\r\n\r\n";
  SocketAddress client;
  auto* in = reinterpret_cast<sockaddr_in*>(&client.storage);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(0x7f000001);
  auto fetch_client = [&client] { return client; };
  WorkerFaults faults(0, nullptr);
  uint64_t fired = 0;
  for (auto _ : state) {
    const FaultRequest request{.head = head,
                               .head_block = block,
                               .route = &config.routes[0],
                               .fetch_client = fetch_client};
    const FaultPlan plan = faults.Decide(request, config, nullptr);
    fired += plan.rule != nullptr ? 1 : 0;
    benchmark::DoNotOptimize(plan.delay);
  }
  if (fired != (last_matches ? static_cast<uint64_t>(state.iterations()) : 0)) {
    state.SkipWithError("the last rule did not fire as set up");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Match32Rules(benchmark::State& state) { RunDecisions(state, true); }
void BM_Match32RulesNoneMatch(benchmark::State& state) { RunDecisions(state, false); }
BENCHMARK(BM_Match32Rules);
BENCHMARK(BM_Match32RulesNoneMatch);

void BM_DrawDelay(benchmark::State& state) {
  DelayDistribution d;
  d.shape = static_cast<DelayShape>(state.range(0));
  d.fixed = 100 * kMillisecond;
  d.low = 50 * kMillisecond;
  d.high = 150 * kMillisecond;
  d.mean = 100 * kMillisecond;
  d.stddev = 20 * kMillisecond;
  d.median = 40 * kMillisecond;
  d.p99 = 900 * kMillisecond;
  d.scale = 50 * kMillisecond;
  d.alpha = 2;
  d.cap = kSecond;
  d.table = {{0.5, 20 * kMillisecond},
             {0.9, 80 * kMillisecond},
             {0.99, 400 * kMillisecond},
             {0.999, 2 * kSecond}};
  FaultRandom random(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(DrawDelay(d, random));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  static const char* const kNames[] = {"fixed",     "uniform", "normal",
                                       "lognormal", "pareto",  "empirical"};
  state.SetLabel(kNames[state.range(0)]);
}
BENCHMARK(BM_DrawDelay)->DenseRange(0, 5);

}  // namespace
}  // namespace proxynode
