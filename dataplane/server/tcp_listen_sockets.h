#pragma once

// The listening sockets of the TCP proxies, bound by the control plane when a config is
// applied rather than by the workers: a listen address in use then refuses the update with
// a message naming the proxy, and port 0 turns into the real port before the config is
// published (and shows in GetConfig, the history and the Toxiproxy API). Every worker
// accepts on the same socket (EPOLLEXCLUSIVE), as on the HTTP listener.
//
// A socket stays open while the running config has an enabled proxy listening on its
// address, and is closed once a config without it runs in every worker (Retain), so a
// proxy removed and created again on the same port can bind it again.
//
// Thread contract: every method is safe from any thread (the pipeline's, start-up).

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "dataplane/config/config_snapshot.h"

namespace proxynode {

class TcpListenSockets {
 public:
  explicit TcpListenSockets(int backlog) : backlog_(backlog) {}
  ~TcpListenSockets();
  TcpListenSockets(const TcpListenSockets&) = delete;
  TcpListenSockets& operator=(const TcpListenSockets&) = delete;

  // Sets listen_fd of every enabled proxy of `config`, which will run as `version`: the
  // socket already bound to its listen address, else a new one (port 0 replaced by the port
  // bound, in `listen` too). Disabled proxies get -1. `dry_run`: new addresses are only
  // tried (bound and closed), and listen_fd is left -1. INVALID_ARGUMENT naming the proxy
  // when an address cannot be bound.
  absl::Status Bind(NodeConfig& config, uint64_t version, bool dry_run);
  // Closes the sockets `running` does not use, but those bound for a later version (a
  // change checked while this one was being applied). Call once every worker runs it.
  void Retain(const NodeConfig& running);

 private:
  struct Socket {
    std::string listen;  // as the config names it (the real port for port 0)
    int fd = -1;
    uint64_t bound_for = 0;  // the config version it was bound for
  };

  const int backlog_;
  std::mutex mutex_;
  std::vector<Socket> sockets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace proxynode
