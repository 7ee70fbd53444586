#pragma once

// A scriptable HTTP/1.1 origin server for the reverse-proxy tests: the far side of the node.
// It listens on 127.0.0.1 port 0, serves each connection on its own thread with blocking
// sockets (a test helper, not a model of the node), keeps connections alive, answers
// pipelined requests in order, and records every request it got. What it answers is an
// UpstreamReply, chosen by the longest matching target prefix (else the server's default):
// a fixed text, the request echoed, or a pattern body of any size generated on the fly (so
// 100 MiB never sits in memory), framed by Content-Length, chunked or the end of the
// connection, optionally after a delay, or a fault instead (close, reset, a cut body).
//
// Bodies too large to keep are compared by BodyDigest; generated bodies are PatternByte(0..n),
// which a test can produce and check on its side without holding them either (body_pattern.h).
//
// Thread contract: every method may be called from any thread while the server runs.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/body_pattern.h"

namespace proxynode::testing {

struct UpstreamReply {
  enum class Body {
    kFixed,      // `text`
    kEcho,       // the request body (up to kKeptBodyBytes), and its head as X-Echo-Method,
                 // X-Echo-Target and an X-Echo-<Name> field per request field
    kGenerated,  // `generated_bytes` pattern bytes
  };
  enum class Framing {
    kContentLength,
    kChunked,         // chunks of `chunk_bytes`
    kCloseDelimited,  // no length: the body ends with the connection
  };
  enum class Fault {
    kNone,
    kCloseWithoutAnswer,  // the request read, then FIN and nothing else
    kReset,               // the request read, then RST
    kCutBody,             // head with the full Content-Length, half the body, 100 ms (so
                          // a proxy surely passed the head on), then FIN
  };

  int status = 200;
  Body body = Body::kFixed;
  std::string text = "upstream\n";
  uint64_t generated_bytes = 0;
  Framing framing = Framing::kContentLength;
  size_t chunk_bytes = 16384;
  // Extra response fields, e.g. hop-by-hop ones a proxy must not pass on.
  std::vector<std::pair<std::string, std::string>> headers = {};
  // After the request head, before reading its body: a slow reader, for backpressure.
  std::chrono::milliseconds body_read_stall{0};
  // After the whole request, before the first byte of the answer. A proxy that closes the
  // connection meanwhile ends the wait (see ClosesWhileHolding).
  std::chrono::milliseconds first_byte_delay{0};
  Fault fault = Fault::kNone;
  // Answer with Connection: close and close afterwards.
  bool close_after = false;
  // Answer (with Connection: close) as soon as the request head is in, read none of its
  // body, and close: an early 413 or 401, which leaves the sender's body unread.
  bool answer_before_body = false;
};

// "content-length", "chunked" or "close-delimited", for test names and messages.
std::ostream& operator<<(std::ostream& out, UpstreamReply::Framing framing);

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string version;                                       // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as received
  BodyDigest body_digest;
  std::string body;         // the first kKeptBodyBytes bytes
  bool chunked = false;     // the body came with Transfer-Encoding: chunked
  uint64_t connection = 0;  // 1 for the first connection accepted, 2 for the next...

  static constexpr size_t kKeptBodyBytes = 1 << 20;
  // The first field named `name` (case-insensitive), if any.
  std::optional<std::string> Header(std::string_view name) const;
  // How many fields are named `name`.
  size_t HeaderCount(std::string_view name) const;
};

class UpstreamServer {
 public:
  explicit UpstreamServer(UpstreamReply default_reply = {});
  // Stop().
  ~UpstreamServer();
  UpstreamServer(const UpstreamServer&) = delete;
  UpstreamServer& operator=(const UpstreamServer&) = delete;

  // Binds 127.0.0.1:0, listens and starts accepting.
  ::testing::AssertionResult Start();
  // Stops accepting, cuts every open connection (a waiting reply ends at once) and joins the
  // threads; the port is then closed (a later connect is refused). Idempotent.
  void Stop();

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", as a route names it.
  std::string address() const;

  void SetDefaultReply(UpstreamReply reply);
  // The reply for request targets starting with `prefix` (the longest such prefix wins).
  void SetReply(std::string prefix, UpstreamReply reply);

  // Waits up to `timeout` for every open connection to sit between requests (a reply just
  // written is followed by the serving thread going back to read), then closes them (FIN), as
  // an upstream's idle timeout would: a proxy holding them in its pool must not send the next
  // request there. False (and nothing closed) if some connection stayed busy.
  bool CloseIdleConnections(std::chrono::milliseconds timeout = std::chrono::seconds(2));

  std::vector<RecordedRequest> Requests() const;
  size_t request_count() const { return request_count_.load(); }
  // When the peer closed (or shut down its side of) a connection whose answer was being held
  // back (first_byte_delay), in the order seen: how a proxy's cancel shows upstream.
  std::vector<std::chrono::steady_clock::time_point> ClosesWhileHolding() const;
  size_t accepted_connections() const { return accepted_.load(); }
  size_t open_connections() const;
  // Waits up to `timeout` until request_count() >= `count`.
  bool WaitForRequests(size_t count, std::chrono::milliseconds timeout) const;

 private:
  struct Connection {
    std::thread thread;
    int fd = -1;  // -1 once the serving thread closed it
    bool done = false;
    bool idle = false;  // between requests, nothing of the next one read yet
  };

  void AcceptLoop();
  void Serve(Connection* connection, uint64_t index);
  UpstreamReply ReplyFor(std::string_view target) const;
  void Record(RecordedRequest request);
  void SetIdle(Connection* connection, bool idle);
  // Sleeps for `duration` unless Stop() comes first; false if it did.
  bool SleepUnlessStopping(std::chrono::milliseconds duration);
  // Holds an answer back for `duration` unless the peer closes `fd` (recorded) or Stop()
  // comes first; false if either did.
  bool HoldUnlessClosed(int fd, std::chrono::milliseconds duration);
  // Joins and forgets connections whose threads have finished.
  void ReapFinished();

  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe: Stop() writes to end AcceptLoop's poll
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> accepted_{0};
  std::atomic<size_t> request_count_{0};

  mutable std::mutex mutex_;
  std::condition_variable stop_signal_;  // with mutex_: wakes sleeping replies on Stop()
  UpstreamReply default_reply_;          // guarded by mutex_
  std::vector<std::pair<std::string, UpstreamReply>> replies_;  // guarded by mutex_
  std::vector<RecordedRequest> requests_;                       // guarded by mutex_
  std::list<Connection> connections_;                           // guarded by mutex_
  // Guarded by mutex_.
  std::vector<std::chrono::steady_clock::time_point> closes_while_holding_;
};

}  // namespace proxynode::testing
