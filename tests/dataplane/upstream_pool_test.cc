// A worker's pool of connections to one upstream, in-process over loopback: a connection
// given back is lent again, one the upstream closes while idle is dropped, and failed
// connects eject the upstream for a back-off that doubles. A real EventLoop in its own
// thread; the upstream is a listening socket the test accepts on.

#include "dataplane/proxy/upstream_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/stats/proxy_stats.h"
#include "gtest/gtest.h"
#include "tests/dataplane/loop_thread.h"
#include "tests/dataplane/loopback.h"

namespace proxynode {
namespace {

using Clock = std::chrono::steady_clock;

class UpstreamPoolTest : public ::testing::Test {
 protected:
  UpstreamPoolTest() {
    sockaddr_in address;
    listener_ = ListenOnLoopback(&address);
    std::memcpy(&upstream_.storage, &address, sizeof(address));
    upstream_.length = sizeof(address);
    runner_.InLoop([&] {
      buffers_ = std::make_unique<BufferPool>(runner_.loop(), 4);
      pool_ = std::make_unique<UpstreamPool>(runner_.loop(), *buffers_, "upstream",
                                             std::make_shared<UpstreamStats>());
    });
  }
  ~UpstreamPoolTest() override {
    runner_.InLoop([&] { pool_.reset(); });
    runner_.InLoop([&] { buffers_.reset(); });
    if (accepted_ >= 0) close(accepted_);
    close(listener_);
  }

  // Takes a connection from the pool and waits until the upstream accepted it and the
  // loop saw the connect end.
  UpstreamConnection* AcquireConnected(bool* reused) {
    UpstreamConnection* connection = nullptr;
    runner_.InLoop([&] { connection = pool_->Acquire(upstream_, /*fresh=*/false, reused); });
    if (!*reused) {
      pollfd ready{.fd = listener_, .events = POLLIN, .revents = 0};
      EXPECT_EQ(poll(&ready, 1, 5000), 1);
      accepted_ = accept(listener_, nullptr, nullptr);
    }
    WaitFor([&] { return !connection->connecting(); });
    return connection;
  }
  // Polls `done` in the loop thread until it holds (5 s at most).
  template <typename Done>
  void WaitFor(Done done) {
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    bool held = false;
    while (!held && Clock::now() < give_up) {
      runner_.InLoop([&] { held = done(); });
      if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_TRUE(held);
  }

  int listener_ = -1;
  int accepted_ = -1;
  SocketAddress upstream_;
  LoopThread runner_;
  std::unique_ptr<BufferPool> buffers_;
  std::unique_ptr<UpstreamPool> pool_;
};

TEST_F(UpstreamPoolTest, AConnectionGivenBackIsLentAgain) {
  bool reused = true;
  UpstreamConnection* first = AcquireConnected(&reused);
  EXPECT_FALSE(reused);
  runner_.InLoop([&] {
    EXPECT_EQ(first->connect_error(), 0);
    pool_->Release(first, /*reusable=*/true);
    EXPECT_EQ(pool_->idle_connections(), 1u);
  });
  UpstreamConnection* second = nullptr;
  runner_.InLoop([&] { second = pool_->Acquire(upstream_, /*fresh=*/false, &reused); });
  EXPECT_TRUE(reused);
  EXPECT_EQ(second, first);
  runner_.InLoop([&] {
    EXPECT_EQ(pool_->open_connections(), 1u);
    pool_->Release(second, /*reusable=*/false);  // closed, not kept
    EXPECT_EQ(pool_->idle_connections(), 0u);
  });
  WaitFor([&] { return pool_->open_connections() == 0; });
}

TEST_F(UpstreamPoolTest, AnIdleConnectionTheUpstreamClosesIsDropped) {
  bool reused = true;
  UpstreamConnection* connection = AcquireConnected(&reused);
  runner_.InLoop([&] { pool_->Release(connection, /*reusable=*/true); });
  close(accepted_);  // the upstream drops its idle keep-alive connection
  accepted_ = -1;
  WaitFor([&] { return pool_->idle_connections() == 0 && pool_->open_connections() == 0; });
  UpstreamConnection* fresh = AcquireConnected(&reused);
  EXPECT_FALSE(reused) << "a closed connection was lent again";
  runner_.InLoop([&] { pool_->Release(fresh, /*reusable=*/false); });
}

TEST_F(UpstreamPoolTest, FailedConnectsEjectForABackoffThatDoublesUpToTheMost) {
  runner_.InLoop([&] {
    const MonoTime now = kSecond;
    pool_->OnConnectFailed(now);
    EXPECT_EQ(pool_->ejected_until(), now + UpstreamPool::kFirstEjection);
    EXPECT_TRUE(pool_->ejected(now + UpstreamPool::kFirstEjection - 1));
    EXPECT_FALSE(pool_->ejected(now + UpstreamPool::kFirstEjection));
    pool_->OnConnectFailed(now);
    EXPECT_EQ(pool_->ejected_until(), now + 2 * UpstreamPool::kFirstEjection);
    for (int i = 0; i < 10; ++i) pool_->OnConnectFailed(now);
    EXPECT_EQ(pool_->ejected_until(), now + UpstreamPool::kMaxEjection);
    pool_->OnConnectSucceeded();
    pool_->OnConnectFailed(now);
    EXPECT_EQ(pool_->ejected_until(), now + UpstreamPool::kFirstEjection)
        << "a success starts the back-off over";
  });
}

}  // namespace
}  // namespace proxynode
