#pragma once

// What the reverse-proxy tests share: a node under test steered over its control port
// (routes set live, stats read back).

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {

class ProxyFixture : public ::testing::Test {
 protected:
  // Starts the node with `defaults` then `flags` (a later flag wins) and connects to its
  // control port.
  ::testing::AssertionResult StartNode(std::vector<std::string> defaults,
                                       const std::vector<std::string>& flags) {
    defaults.insert(defaults.end(), flags.begin(), flags.end());
    ::testing::AssertionResult started = proxy_.Start(defaults);
    if (started) control_ = std::make_unique<ControlClient>(proxy_.control_port());
    return started;
  }

  ::testing::AssertionResult SetRoutes(const std::vector<v1::Route>& routes) {
    grpc::Status status = control_->SetRoutes(routes);
    if (status.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "SetRoutes: " << Describe(status);
  }

  v1::Stats Stats() {
    v1::Stats stats;
    grpc::Status status = control_->GetStats(&stats);
    EXPECT_TRUE(status.ok()) << Describe(status);
    return stats;
  }

  NodeProcess proxy_;
  std::unique_ptr<ControlClient> control_;
};

}  // namespace proxynode::testing
