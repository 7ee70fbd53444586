#include "controlplane/control_http_server.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace proxynode {
namespace {

constexpr int kBacklog = 64;
constexpr size_t kReadChunk = 16 * 1024;
constexpr int kWaitMillis = 1000;  // how often idle clients are looked for

std::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void AppendReply(const ControlHttpReply& reply, bool close, std::string& out) {
  absl::StrAppend(&out, "HTTP/1.1 ", reply.status, " ", std::string(Reason(reply.status)), "\r\n");
  // A 204 has no body and, as Go's server sends it, no Content-Length either.
  if (reply.status != 204) {
    if (!reply.content_type.empty()) {
      absl::StrAppend(&out, "Content-Type: ", reply.content_type, "\r\n");
    }
    absl::StrAppend(&out, "Content-Length: ", reply.body.size(), "\r\n");
  }
  if (close) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
  if (reply.status != 204) {
    out += reply.body;
  }
}

void Watch(int epoll_fd, int op, int fd, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  epoll_ctl(epoll_fd, op, fd, &event);
}

}  // namespace

struct ControlHttpServer::Client {
  Client(int socket, std::string address, const ControlHttpLimits& limits)
      : fd(socket),
        parser(ParserLimits{.max_header_bytes = limits.max_header_bytes,
                            .max_body_bytes = limits.max_body_bytes}) {
    request.peer = std::move(address);
  }

  int fd;
  HttpRequestParser parser;
  ControlHttpRequest request;  // the one being read
  std::string input;           // received, not yet parsed
  std::string output;          // answers not yet written
  bool writing = false;        // EPOLLOUT is watched
  bool closing = false;        // close once `output` is out; read nothing more
  MonoTime last_active = MonotonicNow();
};

absl::StatusOr<std::unique_ptr<ControlHttpServer>> ControlHttpServer::Start(
    const SocketAddress& address, Handler handler, ControlHttpLimits limits) {
  absl::StatusOr<int> listen_fd = ListenTcp(address, kBacklog);
  if (!listen_fd.ok()) {
    return absl::UnavailableError(listen_fd.status().message());
  }
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd < 0 || stop_fd < 0) {
    const std::string error = std::strerror(errno);
    for (int fd : {*listen_fd, epoll_fd, stop_fd}) {
      if (fd >= 0) close(fd);
    }
    return absl::InternalError(absl::StrCat("epoll or eventfd: ", error));
  }
  return std::unique_ptr<ControlHttpServer>(
      new ControlHttpServer(*listen_fd, epoll_fd, stop_fd, std::move(handler), limits));
}

ControlHttpServer::ControlHttpServer(int listen_fd, int epoll_fd, int stop_fd, Handler handler,
                                     ControlHttpLimits limits)
    : listen_fd_(listen_fd),
      epoll_fd_(epoll_fd),
      stop_fd_(stop_fd),
      handler_(std::move(handler)),
      limits_(limits),
      address_(LocalAddress(listen_fd)) {
  Watch(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, EPOLLIN);
  Watch(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, EPOLLIN);
  thread_ = std::thread([this] { Loop(); });
}

ControlHttpServer::~ControlHttpServer() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t written = write(stop_fd_, &one, sizeof(one));
  thread_.join();
  for (const auto& [fd, client] : clients_) {
    close(fd);
  }
  close(listen_fd_);
  close(stop_fd_);
  close(epoll_fd_);
}

void ControlHttpServer::Loop() {
  std::vector<epoll_event> events(64);
  while (true) {
    const int ready =
        epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), kWaitMillis);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      const uint32_t what = events[static_cast<size_t>(i)].events;
      if (fd == stop_fd_) {
        return;
      }
      if (fd == listen_fd_) {
        AcceptAll();
        continue;
      }
      auto found = clients_.find(fd);
      if (found == clients_.end()) {
        continue;  // closed by an earlier event of this round
      }
      Client& client = *found->second;
      if ((what & EPOLLOUT) != 0) {
        Flush(client);
      } else {
        OnReadable(client);
      }
    }
    CloseIdle();
  }
}

void ControlHttpServer::AcceptAll() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN, or an error the next readiness retries
    }
    if (clients_.size() >= limits_.max_clients) {
      close(fd);
      continue;
    }
    SetTcpNoDelay(fd);
    clients_.emplace(fd, std::make_unique<Client>(fd, PeerAddress(fd).ToString(), limits_));
    Watch(epoll_fd_, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP);
  }
}

void ControlHttpServer::OnReadable(Client& client) {
  char buffer[kReadChunk];
  while (!client.closing) {
    const ssize_t received = recv(client.fd, buffer, sizeof(buffer), 0);
    if (received > 0) {
      client.input.append(buffer, static_cast<size_t>(received));
      client.last_active = MonotonicNow();
      continue;
    }
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    }
    if (received < 0 && errno == EINTR) {
      continue;
    }
    // The client went away (or half-closed): answer what it sent, then close.
    client.closing = true;
  }
  Answer(client);
  Flush(client);
}

void ControlHttpServer::Answer(Client& client) {
  // Until the parser needs more bytes: a message without a body completes in a call after
  // its head's, with no input left.
  while (true) {
    const ParseResult result = client.parser.Parse(client.input);
    switch (result.event) {
      case ParseEvent::kNeedMore:
        client.input.erase(0, result.consumed);
        return;
      case ParseEvent::kHeadComplete: {
        const RequestHead& head = client.parser.head();
        client.request.method = head.method;
        client.request.path = head.target.substr(0, head.target.find('?'));
        if (head.expect_continue) {
          client.output += "HTTP/1.1 100 Continue\r\n\r\n";
        }
        break;
      }
      case ParseEvent::kBodyData:
        client.request.body.append(result.body);  // a view into `input`: copied before erasing
        break;
      case ParseEvent::kMessageComplete: {
        const bool keep_alive = client.parser.head().keep_alive;
        AppendReply(handler_(client.request), !keep_alive, client.output);
        client.parser.Reset();
        client.request.body.clear();
        client.request.path.clear();
        if (!keep_alive) {
          client.closing = true;
          client.input.clear();
          return;
        }
        break;
      }
      case ParseEvent::kError: {
        const int status = StatusForParseError(result.error);
        AppendReply({.status = status,
                     .body = absl::StrCat(status, " ", std::string(Reason(status)), "\n"),
                     .content_type = "text/plain; charset=utf-8"},
                    /*close=*/true, client.output);
        client.closing = true;
        client.input.clear();
        return;
      }
    }
    client.input.erase(0, result.consumed);
  }
}

void ControlHttpServer::Flush(Client& client) {
  while (!client.output.empty()) {
    const ssize_t sent = send(client.fd, client.output.data(), client.output.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      client.output.erase(0, static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!client.writing) {
        client.writing = true;
        Watch(epoll_fd_, EPOLL_CTL_MOD, client.fd, EPOLLOUT);
      }
      return;
    }
    Close(client.fd);  // the client is gone
    return;
  }
  if (client.closing) {
    Close(client.fd);
    return;
  }
  if (client.writing) {
    client.writing = false;
    Watch(epoll_fd_, EPOLL_CTL_MOD, client.fd, EPOLLIN | EPOLLRDHUP);
    // Requests that arrived while the answers waited are still in `input`.
    Answer(client);
    if (!client.output.empty() || client.closing) {
      Flush(client);
    }
  }
}

void ControlHttpServer::Close(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(fd);
}

void ControlHttpServer::CloseIdle() {
  const MonoTime now = MonotonicNow();
  if (now - last_idle_check_ < kWaitMillis * kMillisecond) {
    return;
  }
  last_idle_check_ = now;
  std::vector<int> idle;
  for (const auto& [fd, client] : clients_) {
    if (now - client->last_active > limits_.idle_timeout) {
      idle.push_back(fd);
    }
  }
  for (int fd : idle) {
    Close(fd);
  }
}

}  // namespace proxynode
