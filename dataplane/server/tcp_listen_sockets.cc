#include "dataplane/server/tcp_listen_sockets.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/core/socket_ops.h"

namespace proxynode {
namespace {

// "host:0" with the port the socket got.
std::string WithBoundPort(const std::string& listen, int fd) {
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", LocalAddress(fd).port());
}

}  // namespace

TcpListenSockets::~TcpListenSockets() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Socket& socket : sockets_) close(socket.fd);
}

absl::Status TcpListenSockets::Bind(NodeConfig& config, uint64_t version, bool dry_run) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (TcpProxyConfig& proxy : config.tcp_proxies) {
    proxy.listen_fd = -1;
    if (!proxy.enabled) continue;
    auto known = std::find_if(sockets_.begin(), sockets_.end(),
                              [&](const Socket& socket) { return socket.listen == proxy.listen; });
    if (known != sockets_.end()) {
      if (!dry_run) {
        proxy.listen_fd = known->fd;
        known->bound_for = std::max(known->bound_for, version);
      }
      continue;
    }
    absl::StatusOr<SocketAddress> address = ParseSocketAddress(proxy.listen);
    absl::StatusOr<int> fd =
        address.ok() ? ListenTcp(*address, backlog_) : absl::StatusOr<int>(address.status());
    if (!fd.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tcp_proxies[", proxy.name, "].listen: \"", proxy.listen,
                       "\" cannot be bound: ", fd.status().message()));
    }
    if (dry_run) {
      close(*fd);
      continue;
    }
    if (proxy.listen.ends_with(":0")) proxy.listen = WithBoundPort(proxy.listen, *fd);
    sockets_.push_back({proxy.listen, *fd, version});
    proxy.listen_fd = *fd;
  }
  return absl::OkStatus();
}

void TcpListenSockets::Retain(const NodeConfig& running) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto unused = std::remove_if(sockets_.begin(), sockets_.end(), [&](const Socket& socket) {
    const bool used =
        socket.bound_for > running.version ||
        std::any_of(running.tcp_proxies.begin(), running.tcp_proxies.end(),
                    [&](const TcpProxyConfig& proxy) { return proxy.listen_fd == socket.fd; });
    if (!used) close(socket.fd);
    return !used;
  });
  sockets_.erase(unused, sockets_.end());
}

}  // namespace proxynode
