#pragma once

// A real data plane for in-process control-plane tests: loopback, port 0, one worker, no
// delay, and seen serving on both ports before it is handed out. The wait matters: a worker
// enables its listener in a task it posts once its thread runs, and a Stop that comes first
// would find the listener enabled after its teardown (and abort destroying it off the loop's
// thread).

#include <memory>
#include <optional>
#include <string>

#include "dataplane/dataplane.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace proxynode::testing {

inline void ExpectServes(uint16_t port, const std::string& path) {
  HttpClient client;
  ASSERT_TRUE(client.Connect(port));
  std::optional<HttpResponse> response =
      client.RoundTrip("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(response.has_value()) << client.error();
  EXPECT_EQ(response->status, 200);
}

// Null (with a test failure) when it cannot start.
inline std::unique_ptr<Dataplane> StartServingDataplane() {
  DataplaneOptions options;
  options.http_address = *ParseSocketAddress("127.0.0.1:0");
  options.admin_address = *ParseSocketAddress("127.0.0.1:0");
  options.config.workers = 1;
  options.config.delay = 0;
  absl::StatusOr<std::unique_ptr<Dataplane>> created = Dataplane::Create(options);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) {
    return nullptr;
  }
  (*created)->Start();
  ExpectServes((*created)->http_address().port(), "/");
  ExpectServes((*created)->admin_address().port(), "/healthz");
  return *std::move(created);
}

}  // namespace proxynode::testing
