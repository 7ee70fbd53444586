#pragma once

// Thin, checked wrappers over the socket calls the data plane needs.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace proxynode {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  // "127.0.0.1:8080" or "[::1]:8080".
  std::string ToString() const;
  // The address alone: "127.0.0.1" or "::1" (X-Forwarded-For).
  std::string Host() const;
  uint16_t port() const;
};

// Parses "host:port" (IPv4 literal, "[v6]:port", "localhost", or "*"/"0.0.0.0" for any).
absl::StatusOr<SocketAddress> ParseSocketAddress(std::string_view host_port);

// A non-blocking, close-on-exec listening TCP socket with SO_REUSEADDR and the given backlog
// (the kernel caps it at net.core.somaxconn).
absl::StatusOr<int> ListenTcp(const SocketAddress& address, int backlog);

// Stops a listening socket for good without closing its fd, which other threads' epoll sets
// still hold (closing it there could let a new socket reuse the number): the kernel then
// refuses new connections and resets those still queued, and the socket reports readable
// with accept() failing EINVAL. shutdown(SHUT_RD) on a listening socket does exactly this.
void StopListening(int fd);

// The address a socket is bound to (to report the port chosen for port 0).
SocketAddress LocalAddress(int fd);
SocketAddress PeerAddress(int fd);

void SetTcpNoDelay(int fd);

// Arrival timestamps: the kernel stamps each segment as it reaches this host (software
// receive timestamps), and ReceiveStamped reports the stamp of the last byte it read. A
// delay then counts from a request's arrival, not from when the loop got to it, so requests
// that arrived spread out keep that spread in their deadlines even when one wake-up reads
// them together.
void EnableArrivalTimestamps(int fd);
// recv() that also sets `*arrived_realtime_ns` (CLOCK_REALTIME, nanoseconds) to when the last
// byte read arrived, or to 0 when the kernel gave no stamp.
ssize_t ReceiveStamped(int fd, char* buffer, size_t size, int64_t* arrived_realtime_ns);

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns {soft, hard} after the change.
struct FdLimits {
  uint64_t soft = 0;
  uint64_t hard = 0;
};
FdLimits RaiseFdLimit();

}  // namespace proxynode
