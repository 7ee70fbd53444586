#pragma once

// A small HTTP/1.1 server for control-side APIs (the Toxiproxy-compatible API,
// toxiproxy_api.h). One thread of its own, epoll over non-blocking sockets, keep-alive and
// pipelining, several clients at once; requests are handled one at a time by a handler that
// may block (it waits on the config pipeline, which is why this is no data-plane worker).
// Requests go through the data plane's strict parser: a malformed one is answered with its
// 4xx and that connection closes, the others are served on. Idle clients close after a
// minute, and clients over the cap are closed on accept: this is an operator's port, not a
// public one.
//
// Thread contract: Start and the destructor on one control thread; the handler runs on the
// server's thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/http/http_parser.h"

namespace proxynode {

struct ControlHttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string path;  // the target without its query
  std::string body;
  std::string peer;  // "127.0.0.1:53412"
};

struct ControlHttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";  // empty: no Content-Type header
};

struct ControlHttpLimits {
  size_t max_clients = 64;
  Nanos idle_timeout = 60 * kSecond;
  size_t max_header_bytes = 8192;
  uint64_t max_body_bytes = 1 << 20;
};

class ControlHttpServer {
 public:
  using Handler = absl::AnyInvocable<ControlHttpReply(const ControlHttpRequest&)>;

  // Binds `address` (port 0 picks one) and starts serving; an address it cannot bind is an
  // error (UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<ControlHttpServer>> Start(const SocketAddress& address,
                                                                  Handler handler,
                                                                  ControlHttpLimits limits = {});
  // Stops serving (a handler call under way finishes first) and closes every socket.
  ~ControlHttpServer();
  ControlHttpServer(const ControlHttpServer&) = delete;
  ControlHttpServer& operator=(const ControlHttpServer&) = delete;

  // The bound address, with the port chosen for port 0.
  const SocketAddress& address() const { return address_; }

 private:
  struct Client;

  ControlHttpServer(int listen_fd, int epoll_fd, int stop_fd, Handler handler,
                    ControlHttpLimits limits);
  void Loop();
  void AcceptAll();
  void OnReadable(Client& client);
  // Parses and answers what `client` sent, up to a request that needs more bytes.
  void Answer(Client& client);
  // Writes what it can; closes the client once its last answer is out.
  void Flush(Client& client);
  void Close(int fd);
  void CloseIdle();

  const int listen_fd_;
  const int epoll_fd_;
  const int stop_fd_;  // an eventfd: written once, by the destructor
  Handler handler_;
  const ControlHttpLimits limits_;
  SocketAddress address_;
  // Only the server's thread touches the clients.
  absl::flat_hash_map<int, std::unique_ptr<Client>> clients_;
  MonoTime last_idle_check_ = 0;
  // Last: it starts once everything it uses exists.
  std::thread thread_;
};

}  // namespace proxynode
