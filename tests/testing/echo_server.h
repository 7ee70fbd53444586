#pragma once

// A TCP echo server on 127.0.0.1 for the TCP proxy tests: every byte a client sends comes
// back, and a client's FIN is answered with one once its bytes are back (a half-close
// passes). One thread per connection: the tests open few.
//
// Thread contract: start and stop from the test's thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace proxynode::testing {

class EchoServer {
 public:
  EchoServer();  // listening on an ephemeral port once constructed
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  uint16_t port() const { return port_; }
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  void AcceptLoop();
  static void Echo(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;  // guarded by mutex_
  std::vector<int> fds_;                  // guarded by mutex_; closed at stop
};

}  // namespace proxynode::testing
