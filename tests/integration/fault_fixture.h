#pragma once

// What the fault-rule tests share (issue 18): a node under test whose fault rules are set
// over its control port, rule builders, per-rule counters read back, and the timing bounds.
// Rules are aimed and timed by what a client sees (fault_probe.h), never by the node's code.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/testing/abuse_sockets.h"
#include "tests/testing/control_client.h"
#include "tests/testing/fault_probe.h"
#include "tests/testing/http_client.h"

namespace proxynode::testing {

// Headroom on top of an injected delay before a response counts as late (1 s; more under
// the sanitizers).
inline constexpr std::chrono::milliseconds kFaultSlack = abuse::kSlack;

// The node's own body in the fault tests: long enough to cut or reset in the middle of.
inline std::string FaultNodeBody() {
  std::string body = "node body:";
  while (body.size() < 1000) body += " 0123456789";
  body.resize(1000);
  body += "\n";
  return body;
}

// A rule named `name` that matches every request, hits all of them, and does nothing yet.
inline v1::FaultRule Rule(const std::string& name) {
  v1::FaultRule rule;
  rule.set_name(name);
  return rule;
}

// The rule answers `status` (tagged, so a test sees which rule fired).
inline v1::FaultRule StatusRule(const std::string& name, uint32_t status) {
  v1::FaultRule rule = Rule(name);
  rule.mutable_abort()->set_kind(v1::AbortFault::STATUS);
  rule.mutable_abort()->set_status(status);
  rule.set_tag_response(true);
  return rule;
}

inline v1::FaultRule& WithFixedDelay(v1::FaultRule& rule, int64_t milliseconds,
                                     v1::DelayFault::Target target = v1::DelayFault::REQUEST) {
  *rule.mutable_delay()->mutable_distribution()->mutable_fixed() = Millis(milliseconds);
  rule.mutable_delay()->set_target(target);
  return rule;
}

inline v1::FaultRule DelayRule(const std::string& name, int64_t milliseconds,
                               v1::DelayFault::Target target = v1::DelayFault::REQUEST) {
  v1::FaultRule rule = Rule(name);
  WithFixedDelay(rule, milliseconds, target);
  return rule;
}

inline v1::FaultRule AbortRule(const std::string& name, v1::AbortFault::Kind kind,
                               uint64_t after_bytes = 0) {
  v1::FaultRule rule = Rule(name);
  rule.mutable_abort()->set_kind(kind);
  rule.mutable_abort()->set_after_bytes(after_bytes);
  return rule;
}

inline v1::FaultRule BandwidthRule(const std::string& name, uint64_t bytes_per_second,
                                   v1::BandwidthFault::Scope scope = v1::BandwidthFault::RESPONSE) {
  v1::FaultRule rule = Rule(name);
  rule.mutable_bandwidth()->set_bytes_per_second(bytes_per_second);
  rule.mutable_bandwidth()->set_scope(scope);
  return rule;
}

inline v1::HeaderMatch Header(const std::string& name, v1::HeaderMatch::Kind kind,
                              const std::string& value = "") {
  v1::HeaderMatch header;
  header.set_name(name);
  header.set_kind(kind);
  header.set_value(value);
  return header;
}

// A GET with a Host field and `extra_fields` ("Name: value\r\n" lines).
inline std::string Get(const std::string& target, const std::string& extra_fields = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_fields + "\r\n";
}

// Bounds on how many of `n` trials with probability `p` come out true: the mean ± 4
// standard deviations, which a correct node leaves about once in 16,000 runs.
struct BinomialBounds {
  double low;
  double high;
};
inline BinomialBounds Binomial(int n, double p, double deviations = 4) {
  const double mean = n * p;
  const double sd = std::sqrt(n * p * (1 - p));
  return {mean - deviations * sd, mean + deviations * sd};
}

class FaultFixture : public ProxyFixture {
 protected:
  // The node under test: 2 workers (the machine's cores), no delay of its own unless `flags`
  // set one, and FaultNodeBody().
  ::testing::AssertionResult StartFaultNode(const std::vector<std::string>& flags = {}) {
    return StartNode({"--workers=2", "--delay=0s", "--body=" + FaultNodeBody()}, flags);
  }

  // Replaces the node's fault rules (and, when given, max_active_faults and fault_seed).
  ::testing::AssertionResult SetFaults(const std::vector<v1::FaultRule>& rules,
                                       std::optional<uint32_t> max_active_faults = std::nullopt,
                                       std::optional<uint64_t> fault_seed = std::nullopt,
                                       v1::UpdateConfigResponse* response = nullptr) {
    v1::NodeConfig config;
    std::vector<std::string> paths = {"faults"};
    for (const v1::FaultRule& rule : rules) *config.add_faults() = rule;
    if (max_active_faults) {
      config.set_max_active_faults(*max_active_faults);
      paths.push_back("max_active_faults");
    }
    if (fault_seed) {
      config.set_fault_seed(*fault_seed);
      paths.push_back("fault_seed");
    }
    v1::UpdateConfigResponse ignored;
    grpc::Status status = control_->Update(config, paths, response ? response : &ignored);
    if (status.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "UpdateConfig(faults): " << Describe(status);
  }

  // The node's counters for rule `name` (all zero when it has none).
  v1::FaultRuleStats RuleStats(const std::string& name) {
    v1::Stats stats = Stats();
    for (const v1::FaultRuleStats& rule : stats.faults()) {
      if (rule.name() == name) return rule;
    }
    v1::FaultRuleStats none;
    none.set_name(name);
    return none;
  }

  static uint64_t Aborted(const v1::FaultRuleStats& stats, const std::string& kind) {
    auto it = stats.aborted().find(kind);
    return it == stats.aborted().end() ? 0 : it->second;
  }

  // A connection to the node's HTTP port (the test fails if it cannot connect).
  fault::Probe Connect(const std::string& source = "") {
    fault::Probe probe;
    EXPECT_TRUE(probe.Connect(proxy_.http_port(), source));
    return probe;
  }

  // GET `target` on a fresh connection; reads one response or the connection's end.
  fault::Exchange Fetch(const std::string& target, const std::string& extra_fields = "",
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    fault::Probe probe = Connect();
    return probe.RoundTrip(Get(target, extra_fields), timeout);
  }
};

}  // namespace proxynode::testing
