#include "tests/testing/upstream_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ostream>

#include "dataplane/http/http_response.h"  // ReasonPhrase
#include "tests/testing/chunked_decoder.h"

namespace proxynode::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr size_t kReadBytes = 64 * 1024;
// Response bytes gathered before a send(): small replies go out in one segment.
constexpr size_t kWriteBytes = 64 * 1024;

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ToLower(x) == ToLower(y);
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated `list` holds `token` (case-insensitive).
bool ListHas(std::string_view list, std::string_view token) {
  while (true) {
    size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

// Appends what one recv() returns to `*in`; false at end of stream or on an error.
bool ReadMore(int fd, std::string* in) {
  char buffer[kReadBytes];
  while (true) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      in->append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n == 0 || errno != EINTR) return false;
  }
}

// Parses "METHOD target VERSION\r\nName: value\r\n..." (the head without its blank line).
bool ParseRequestHead(std::string_view head, RecordedRequest* request) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  request->method = std::string(line.substr(0, sp1));
  request->target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  request->version = std::string(line.substr(sp2 + 1));
  if (!request->version.starts_with("HTTP/1.")) return false;
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    line = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    request->headers.emplace_back(std::string(line.substr(0, colon)),
                                  std::string(Trim(line.substr(colon + 1))));
  }
  return true;
}

// The body length a request head announces: nullopt for none (or a bad one), or chunked.
std::optional<uint64_t> ContentLength(const RecordedRequest& request) {
  std::optional<std::string> text = request.Header("Content-Length");
  if (!text) return std::nullopt;
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), length);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return length;
}

bool WantsKeepAlive(const RecordedRequest& request) {
  std::optional<std::string> connection = request.Header("Connection");
  if (request.version == "HTTP/1.0") return connection && ListHas(*connection, "keep-alive");
  return !(connection && ListHas(*connection, "close"));
}

// Collects response bytes and sends them in blocks; false once the peer is gone.
class ResponseWriter {
 public:
  explicit ResponseWriter(int fd) : fd_(fd) {}
  bool Write(std::string_view bytes) {
    out_.append(bytes);
    return out_.size() < kWriteBytes || Flush();
  }
  bool Flush() {
    bool ok = SendAll(fd_, out_);
    out_.clear();
    return ok;
  }

 private:
  int fd_;
  std::string out_;
};

// Writes `size` body bytes from `piece_source(offset, size)` in pieces of `piece_bytes`,
// each as one chunk when `chunked`.
template <typename PieceSource>
bool WriteBody(ResponseWriter& writer, uint64_t size, size_t piece_bytes, bool chunked,
               PieceSource piece_source) {
  for (uint64_t offset = 0; offset < size;) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(piece_bytes, size - offset));
    if (chunked) {
      char hex[20];
      auto [end, ec] = std::to_chars(hex, hex + sizeof(hex), piece, 16);
      if (!writer.Write(std::string_view(hex, static_cast<size_t>(end - hex))) ||
          !writer.Write("\r\n")) {
        return false;
      }
    }
    if (!writer.Write(piece_source(offset, piece))) return false;
    if (chunked && !writer.Write("\r\n")) return false;
    offset += piece;
  }
  return true;
}

enum class HeadResult { kRead, kClosed, kBad };

// Reads one request head from `fd` (after what `*in` holds) into `*request`.
HeadResult ReadRequestHead(int fd, std::string* in, RecordedRequest* request) {
  size_t head_end;
  while ((head_end = in->find("\r\n\r\n")) == std::string::npos) {
    if (in->size() > kMaxHeadBytes) return HeadResult::kBad;
    if (!ReadMore(fd, in)) return HeadResult::kClosed;
  }
  if (!ParseRequestHead(std::string_view(*in).substr(0, head_end), request)) {
    return HeadResult::kBad;
  }
  in->erase(0, head_end + 4);
  std::optional<std::string> encoding = request->Header("Transfer-Encoding");
  request->chunked = encoding && ListHas(*encoding, "chunked");
  return HeadResult::kRead;
}

bool HasBody(const RecordedRequest& request) {
  return request.chunked || ContentLength(request).value_or(0) > 0;
}

// Streams the body through the request's digest, keeping only its start; false if the
// connection ended first or the chunked framing is broken.
bool ReadRequestBody(int fd, std::string* in, RecordedRequest* request) {
  auto keep = [request](std::string_view bytes) {
    request->body_digest.Add(bytes);
    size_t kept = std::min(RecordedRequest::kKeptBodyBytes, request->body.size());
    request->body.append(bytes.substr(0, RecordedRequest::kKeptBodyBytes - kept));
  };
  if (request->chunked) {
    ChunkedDecoder decoder;
    std::string decoded;
    while (true) {
      std::string_view view = *in;
      ChunkedDecoder::State state = decoder.Feed(&view, &decoded);
      in->erase(0, in->size() - view.size());
      keep(decoded);
      decoded.clear();
      if (state == ChunkedDecoder::State::kDone) return true;
      if (state == ChunkedDecoder::State::kError || !ReadMore(fd, in)) return false;
    }
  }
  for (uint64_t left = ContentLength(*request).value_or(0); left > 0;) {
    if (in->empty() && !ReadMore(fd, in)) return false;
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, in->size()));
    keep(std::string_view(*in).substr(0, take));
    in->erase(0, take);
    left -= take;
  }
  return true;
}

uint64_t ReplyBodySize(const UpstreamReply& reply, const RecordedRequest& request) {
  switch (reply.body) {
    case UpstreamReply::Body::kGenerated:
      return reply.generated_bytes;
    case UpstreamReply::Body::kEcho:
      return request.body.size();
    case UpstreamReply::Body::kFixed:
      break;
  }
  return reply.text.size();
}

std::string ResponseHead(const UpstreamReply& reply, const RecordedRequest& request,
                         bool keep_alive, uint16_t port) {
  std::string head =
      "HTTP/1.1 " + std::to_string(reply.status) + " " + std::string(ReasonPhrase(reply.status)) +
      "\r\nServer: upstream-server\r\nX-Upstream-Port: " + std::to_string(port) + "\r\n";
  if (reply.body == UpstreamReply::Body::kEcho) {
    head += "X-Echo-Method: " + request.method + "\r\n";
    head += "X-Echo-Target: " + request.target + "\r\n";
    for (const auto& [name, value] : request.headers) {
      head += "X-Echo-" + name + ": " + value + "\r\n";
    }
  }
  for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
  switch (reply.framing) {
    case UpstreamReply::Framing::kContentLength:
      head += "Content-Length: " + std::to_string(ReplyBodySize(reply, request)) + "\r\n";
      break;
    case UpstreamReply::Framing::kChunked:
      head += "Transfer-Encoding: chunked\r\n";
      break;
    case UpstreamReply::Framing::kCloseDelimited:
      break;
  }
  if (!keep_alive) head += "Connection: close\r\n";
  return head + "\r\n";
}

// Writes the whole answer to `request` (no body for HEAD; half of it for kCutBody).
bool WriteReply(int fd, const UpstreamReply& reply, const RecordedRequest& request, bool keep_alive,
                uint16_t port) {
  ResponseWriter writer(fd);
  if (!writer.Write(ResponseHead(reply, request, keep_alive, port))) return false;
  if (request.method != "HEAD") {
    const bool chunked = reply.framing == UpstreamReply::Framing::kChunked;
    const bool cut = reply.fault == UpstreamReply::Fault::kCutBody;
    const uint64_t size = ReplyBodySize(reply, request);
    const size_t piece_bytes = chunked ? std::max<size_t>(1, reply.chunk_bytes) : kWriteBytes;
    std::string block;
    auto source = [&](uint64_t offset, size_t piece) -> std::string_view {
      if (reply.body == UpstreamReply::Body::kGenerated) {
        block.resize(piece);
        FillPattern(offset, block.data(), piece);
        return block;
      }
      const std::string& whole =
          reply.body == UpstreamReply::Body::kEcho ? request.body : reply.text;
      return std::string_view(whole).substr(static_cast<size_t>(offset), piece);
    };
    if (!WriteBody(writer, cut ? size / 2 : size, piece_bytes, chunked, source)) return false;
    if (chunked && !cut && !writer.Write("0\r\n\r\n")) return false;
  }
  return writer.Flush();
}

}  // namespace

std::ostream& operator<<(std::ostream& out, UpstreamReply::Framing framing) {
  switch (framing) {
    case UpstreamReply::Framing::kContentLength:
      return out << "content-length";
    case UpstreamReply::Framing::kChunked:
      return out << "chunked";
    case UpstreamReply::Framing::kCloseDelimited:
      return out << "close-delimited";
  }
  return out << "framing " << static_cast<int>(framing);
}

std::optional<std::string> RecordedRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

size_t RecordedRequest::HeaderCount(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& field) {
    return EqualsIgnoreCase(field.first, name);
  }));
}

UpstreamServer::UpstreamServer(UpstreamReply default_reply)
    : default_reply_(std::move(default_reply)) {}

UpstreamServer::~UpstreamServer() { Stop(); }

::testing::AssertionResult UpstreamServer::Start() {
  if (listen_fd_ >= 0) return ::testing::AssertionFailure() << "already started";
  if (pipe2(wake_fds_, O_CLOEXEC) != 0) {
    return ::testing::AssertionFailure() << "pipe2: " << std::strerror(errno);
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listen_fd_, 1024) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return ::testing::AssertionFailure() << "bind/listen: " << std::strerror(errno);
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return ::testing::AssertionSuccess();
}

void UpstreamServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (acceptor_.joinable()) {
    char wake = 1;
    (void)!write(wake_fds_[1], &wake, 1);
    acceptor_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
  std::list<Connection> cut;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Blocked recv() and send() return at once; each thread then closes its own fd.
    for (Connection& connection : connections_) {
      if (connection.fd >= 0) shutdown(connection.fd, SHUT_RDWR);
    }
    // Threads hold pointers into their list nodes: splicing moves no node.
    cut.splice(cut.end(), connections_);
  }
  for (Connection& connection : cut) connection.thread.join();
  for (int& fd : wake_fds_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

std::string UpstreamServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void UpstreamServer::SetDefaultReply(UpstreamReply reply) {
  std::lock_guard<std::mutex> lock(mutex_);
  default_reply_ = std::move(reply);
}

void UpstreamServer::SetReply(std::string prefix, UpstreamReply reply) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [known, known_reply] : replies_) {
    if (known == prefix) {
      known_reply = std::move(reply);
      return;
    }
  }
  replies_.emplace_back(std::move(prefix), std::move(reply));
}

UpstreamReply UpstreamServer::ReplyFor(std::string_view target) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const UpstreamReply* best = &default_reply_;
  size_t best_length = 0;
  for (const auto& [prefix, reply] : replies_) {
    if (target.starts_with(prefix) && prefix.size() >= best_length) {
      best = &reply;
      best_length = prefix.size();
    }
  }
  return *best;
}

void UpstreamServer::SetIdle(Connection* connection, bool idle) {
  std::lock_guard<std::mutex> lock(mutex_);
  connection->idle = idle;
}

bool UpstreamServer::CloseIdleConnections(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const bool all_idle =
          std::all_of(connections_.begin(), connections_.end(),
                      [](const Connection& c) { return c.done || c.idle || c.fd < 0; });
      if (all_idle) {
        for (Connection& connection : connections_) {
          // The serving thread's recv() then sees the end of stream and closes the socket.
          if (connection.idle && connection.fd >= 0) shutdown(connection.fd, SHUT_RDWR);
        }
        return true;
      }
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::vector<RecordedRequest> UpstreamServer::Requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

size_t UpstreamServer::open_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                           [](const Connection& c) { return !c.done; }));
}

bool UpstreamServer::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (request_count() < count) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void UpstreamServer::Record(RecordedRequest request) {
  std::lock_guard<std::mutex> lock(mutex_);
  requests_.push_back(std::move(request));
  ++request_count_;
}

bool UpstreamServer::SleepUnlessStopping(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) return !stopping_;
  std::unique_lock<std::mutex> lock(mutex_);
  return !stop_signal_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

bool UpstreamServer::HoldUnlessClosed(int fd, std::chrono::milliseconds duration) {
  const auto deadline = Clock::now() + duration;
  while (!stopping_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return true;
    // POLLRDHUP alone: a pipelined request (POLLIN) is no reason to stop holding. Slices of
    // 10 ms notice Stop(); a close ends the poll at once.
    pollfd pfd{fd, POLLRDHUP, 0};
    if (poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 10))) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      closes_while_holding_.push_back(Clock::now());
      return false;
    }
  }
  return false;
}

std::vector<std::chrono::steady_clock::time_point> UpstreamServer::ClosesWhileHolding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closes_while_holding_;
}

void UpstreamServer::ReapFinished() {
  std::list<Connection> finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  for (Connection& connection : finished) connection.thread.join();
}

void UpstreamServer::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    int n = poll(fds, 2, 100);
    ReapFinished();
    if (n <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const uint64_t index = ++accepted_;
    std::lock_guard<std::mutex> lock(mutex_);
    Connection& connection = connections_.emplace_back();
    connection.fd = fd;
    connection.thread = std::thread([this, &connection, index] { Serve(&connection, index); });
  }
}

void UpstreamServer::Serve(Connection* connection, uint64_t index) {
  int fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fd = connection->fd;
  }
  bool reset = false;
  std::string in;  // bytes read and not yet consumed: a pipelined request may follow
  bool keep_alive = true;
  while (keep_alive && !stopping_) {
    RecordedRequest request;
    request.connection = index;
    SetIdle(connection, in.empty());
    const HeadResult head = ReadRequestHead(fd, &in, &request);
    SetIdle(connection, false);
    if (head == HeadResult::kBad) {
      SendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    if (head != HeadResult::kRead) break;
    const UpstreamReply reply = ReplyFor(request.target);
    if (reply.answer_before_body) {
      const RecordedRequest seen = request;
      Record(std::move(request));
      WriteReply(fd, reply, seen, /*keep_alive=*/false, port_);
      break;
    }
    if (HasBody(request)) {
      std::optional<std::string> expect = request.Header("Expect");
      if (expect && EqualsIgnoreCase(*expect, "100-continue") &&
          !SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
        break;
      }
      if (!SleepUnlessStopping(reply.body_read_stall)) break;
    }
    if (!ReadRequestBody(fd, &in, &request)) break;
    keep_alive = WantsKeepAlive(request) && !reply.close_after &&
                 reply.framing != UpstreamReply::Framing::kCloseDelimited &&
                 reply.fault == UpstreamReply::Fault::kNone;
    const RecordedRequest seen = request;
    Record(std::move(request));  // before answering: a test sees it even after a fault

    if (!HoldUnlessClosed(fd, reply.first_byte_delay)) break;
    if (reply.fault == UpstreamReply::Fault::kCloseWithoutAnswer) break;
    if (reply.fault == UpstreamReply::Fault::kReset) {
      reset = true;
      break;
    }
    if (!WriteReply(fd, reply, seen, keep_alive, port_)) break;
    if (reply.fault == UpstreamReply::Fault::kCutBody) {
      SleepUnlessStopping(std::chrono::milliseconds(100));
      break;
    }
  }

  if (reset) {
    linger reset_on_close{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
  } else {
    // A FIN, then what the peer still sends is read and dropped until it closes too: closing
    // with unread bytes would send a reset instead.
    shutdown(fd, SHUT_WR);
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    std::string ignored;
    while (!stopping_ && Clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0 && !ReadMore(fd, &ignored)) break;
      ignored.clear();
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  close(fd);
  connection->fd = -1;
  connection->done = true;
}

}  // namespace proxynode::testing
