// A worker's start and stop in-process, with no node process.

#include "dataplane/server/worker.h"

#include <unistd.h>

#include <memory>

#include "dataplane/core/socket_ops.h"
#include "dataplane/server/request_handler.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

// A Stop() right after Start() can queue the teardown ahead of the task that starts
// listening; the worker must then never listen (it once did, and its listener was destroyed
// enabled, from the wrong thread).
TEST(WorkerTest, StoppingRightAfterStartingNeverLeavesTheListenerEnabled) {
  absl::StatusOr<SocketAddress> address = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  absl::StatusOr<int> listen_fd = ListenTcp(*address, 16);
  ASSERT_TRUE(listen_fd.ok());
  RespondHandler handler;
  for (int round = 0; round < 50; ++round) {
    WorkerOptions options;
    options.listen_fd = *listen_fd;
    options.handler = &handler;
    options.config = std::make_shared<const NodeConfig>();
    options.stats = std::make_shared<WorkerStats>();
    options.thread_name = "worker-test";
    auto worker = std::make_unique<Worker>(std::move(options));
    worker->Start();
    worker->StopAndJoin();
    worker.reset();  // destroys the listener: it must not be registered any more
  }
  close(*listen_fd);
}

}  // namespace
}  // namespace proxynode
