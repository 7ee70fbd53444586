// latency_recorder: a closed-loop HTTP/1.1 load client that records every response.
//
//   latency_recorder --target 127.0.0.1:8080 --path / --connections 1000
//       --requests 100000 --warmup 10000 --warmup-seconds 3 --out latencies.txt
//       --timeout-seconds 300
//
// It opens C keep-alive connections and keeps exactly one request in flight on each
// ("GET PATH HTTP/1.1\r\nHost: HOST\r\n\r\n"). For each response it records the latency in
// nanoseconds (CLOCK_MONOTONIC, from just before the request's write to just after the read
// that brought the response's last byte), the status and the body size, one line
// "latency_ns status bytes" per response in completion order. The warm-up is not written:
// the first W responses and every response completed in the first S seconds. Then it
// records N responses and stops, or stops after T seconds in all.
//
// Why a warm-up in seconds: the recorded responses are those completing in a window of
// time. In a steady closed loop that is an unbiased sample of the delays, but only once the
// loop has run longer than the longest delay: early on, the requests that draw a 2 s delay
// have not come back yet, and a window that opens too soon misses them (their share of the
// tail). S should exceed the largest delay expected.
//
// Why not wrk: fault_accuracy.py needs every latency (a KS distance, not a few percentiles)
// and each response's size (bandwidth faults). The client is single-threaded so that on a
// two-core machine it leaves the node a core; it buffers no body and no latency (output
// goes through a buffered file, the summary through a log-linear histogram), so its memory
// does not grow with N.
//
// Errors (a refused or reset connection, a close with a request in flight, a response it
// cannot parse) are counted by kind and the connection is reopened after a back-off of
// 1 ms doubling to 1 s while it keeps failing; after --max-errors E errors (default 1000) it
// gives up. Exit status: 0 when N responses were recorded, 1 when the time ran out or the
// errors reached E first, 2 on bad flags or setup failure.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

int64_t NowNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/";
  uint64_t connections = 100;
  uint64_t requests = 10000;
  uint64_t warmup = 0;
  double warmup_seconds = 0;
  std::string out;
  double timeout_seconds = 300;
  uint64_t max_errors = 1000;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "latency_recorder: %s\n"
               "usage: latency_recorder --target host:port [--path /x] [--connections C]\n"
               "         [--requests N] [--warmup W] [--warmup-seconds S] [--out FILE]\n"
               "         [--timeout-seconds T] [--max-errors E]\n",
               message);
  std::exit(2);
}

uint64_t ParseCount(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    std::fprintf(stderr, "latency_recorder: %s: not a count: %s\n", flag, text);
    std::exit(2);
  }
  return static_cast<uint64_t>(value);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool have_target = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    std::string value;
    if (const size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = std::string(flag.substr(eq + 1));
      flag = flag.substr(0, eq);
    } else if (flag == "--help" || flag == "-h") {
      Usage("help");
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage("a flag needs a value");
    }
    if (flag == "--target") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
        Usage("--target needs host:port");
      }
      options.host = value.substr(0, colon);
      if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
        options.host = options.host.substr(1, options.host.size() - 2);
      }
      options.port = value.substr(colon + 1);
      have_target = true;
    } else if (flag == "--path") {
      if (value.empty() || value[0] != '/' || value.find_first_of(" \r\n") != std::string::npos) {
        Usage("--path must start with / and hold no space or line break");
      }
      options.path = value;
    } else if (flag == "--connections") {
      options.connections = ParseCount("--connections", value.c_str());
    } else if (flag == "--requests") {
      options.requests = ParseCount("--requests", value.c_str());
    } else if (flag == "--warmup") {
      options.warmup = ParseCount("--warmup", value.c_str());
    } else if (flag == "--warmup-seconds") {
      char* end = nullptr;
      options.warmup_seconds = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(options.warmup_seconds >= 0)) {
        Usage("--warmup-seconds needs a number >= 0");
      }
    } else if (flag == "--max-errors") {
      options.max_errors = ParseCount("--max-errors", value.c_str());
    } else if (flag == "--out") {
      options.out = value;
    } else if (flag == "--timeout-seconds") {
      char* end = nullptr;
      options.timeout_seconds = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(options.timeout_seconds > 0)) {
        Usage("--timeout-seconds needs a positive number");
      }
    } else {
      Usage(("unknown flag " + std::string(flag)).c_str());
    }
  }
  if (!have_target) Usage("--target is required");
  if (options.connections == 0 || options.connections > 1'000'000) {
    Usage("--connections must be in [1, 1000000]");
  }
  if (options.requests == 0) Usage("--requests must be at least 1");
  return options;
}

// Latencies for the summary: buckets of 1/1024 of a power of two (relative error < 0.1%).
class Histogram {
 public:
  void Add(int64_t nanos) {
    const uint64_t v = static_cast<uint64_t>(std::max<int64_t>(nanos, 0));
    ++counts_[Index(v)];
    ++count_;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
    sum_ += static_cast<double>(v);
  }
  uint64_t count() const { return count_; }
  double MeanMillis() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_) / 1e6; }
  double MaxMillis() const { return count_ == 0 ? 0 : static_cast<double>(max_) / 1e6; }
  double MinMillis() const { return count_ == 0 ? 0 : static_cast<double>(min_) / 1e6; }
  // The upper bound of the bucket holding the q-quantile, in milliseconds.
  double QuantileMillis(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= std::max<uint64_t>(rank, 1)) {
        return static_cast<double>(std::min(UpperBound(i), max_)) / 1e6;
      }
    }
    return MaxMillis();
  }

 private:
  static constexpr unsigned kSubBits = 10;
  static constexpr size_t kSub = size_t{1} << kSubBits;
  static constexpr size_t kBuckets = 64 * kSub;
  static size_t Index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const unsigned top = 63U - static_cast<unsigned>(__builtin_clzll(v));  // >= kSubBits
    const unsigned shift = top - kSubBits;
    const uint64_t mantissa = (v >> shift) - kSub;  // [0, kSub)
    return static_cast<size_t>(shift + 1) * kSub + static_cast<size_t>(mantissa);
  }
  static uint64_t UpperBound(size_t index) {
    if (index < kSub) return index;
    const size_t shift = index / kSub - 1;
    const uint64_t mantissa = index % kSub + kSub;
    return ((mantissa + 1) << shift) - 1;
  }
  uint64_t counts_[kBuckets] = {};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  double sum_ = 0;
};

enum class State : uint8_t { kWaitingReconnect, kConnecting, kSending, kReadingHead, kReadingBody };

struct Conn {
  int fd = -1;
  State state = State::kWaitingReconnect;
  bool got_response = false;   // this socket delivered a response
  bool server_closes = false;  // the current response says Connection: close
  bool until_eof = false;      // no Content-Length: the body ends at the close
  unsigned failures = 0;       // consecutive failed attempts, for the back-off
  size_t sent = 0;             // bytes of the request written
  int64_t send_time = 0;
  int status = 0;
  uint64_t body_left = 0;
  uint64_t body_size = 0;
  std::string head;  // the response head so far (bodies are counted, not kept)
};

struct Errors {
  uint64_t connect = 0;        // connect() refused or failed
  uint64_t reset = 0;          // read/write error (ECONNRESET, EPIPE, ...)
  uint64_t eof_in_flight = 0;  // the server closed with a request in flight
  uint64_t protocol = 0;       // a response it cannot parse, or bytes nobody asked for
  uint64_t Total() const { return connect + reset + eof_in_flight + protocol; }
};

constexpr size_t kMaxHead = 64 * 1024;

class Recorder {
 public:
  Recorder(Options options, addrinfo* address, FILE* out)
      : options_(std::move(options)), address_(address), out_(out) {
    request_ = "GET " + options_.path + " HTTP/1.1\r\nHost: " + options_.host + "\r\n\r\n";
    scratch_.resize(256 * 1024);
    conns_.resize(options_.connections);
  }

  int Run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      std::perror("latency_recorder: epoll_create1");
      return 2;
    }
    start_ = NowNanos();
    deadline_ = start_ + static_cast<int64_t>(options_.timeout_seconds * 1e9);
    for (size_t i = 0; i < conns_.size(); ++i) Open(i);
    std::vector<epoll_event> events(1024);
    warmup_end_ = start_ + static_cast<int64_t>(options_.warmup_seconds * 1e9);
    while (!Done()) {
      const int64_t now = NowNanos();
      if (now >= deadline_) {
        timed_out_ = true;
        break;
      }
      if (errors_.Total() >= options_.max_errors) {
        too_many_errors_ = true;
        break;
      }
      while (!reconnects_.empty() && reconnects_.top().first <= now) {
        const size_t index = reconnects_.top().second;
        reconnects_.pop();
        Open(index);
      }
      int64_t wait_until = deadline_;
      if (!reconnects_.empty()) wait_until = std::min(wait_until, reconnects_.top().first);
      const int timeout_ms =
          static_cast<int>(std::clamp<int64_t>((wait_until - now + 999'999) / 1'000'000, 0, 1000));
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("latency_recorder: epoll_wait");
        return 2;
      }
      for (int e = 0; e < n && !Done(); ++e) {
        const size_t index = static_cast<size_t>(events[static_cast<size_t>(e)].data.u64);
        OnEvent(index, events[static_cast<size_t>(e)].events);
      }
    }
    end_ = NowNanos();
    for (Conn& conn : conns_) {
      if (conn.fd >= 0) close(conn.fd);
    }
    close(epoll_);
    return timed_out_ || too_many_errors_ ? 1 : 0;
  }

  void PrintSummary() const {
    const double seconds = static_cast<double>(end_ - start_) / 1e9;
    const double recorded_seconds =
        record_start_ == 0 ? 0 : static_cast<double>(end_ - record_start_) / 1e9;
    const uint64_t non_2xx = recorded_ - status_2xx_;
    std::printf("latency_recorder: %s%" PRIu64 " responses recorded (of %" PRIu64 ") after %" PRIu64
                " warm-up, %.2f s in all, %.0f responses/s while recording\n",
                timed_out_ ? "TIMED OUT: " : (too_many_errors_ ? "TOO MANY ERRORS: " : ""),
                recorded_, options_.requests, warmed_up_, seconds,
                recorded_seconds > 0 ? static_cast<double>(recorded_) / recorded_seconds : 0.0);
    std::printf("  latency ms: min %.3f p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f mean %.3f\n",
                histogram_.MinMillis(), histogram_.QuantileMillis(0.5),
                histogram_.QuantileMillis(0.9), histogram_.QuantileMillis(0.99),
                histogram_.QuantileMillis(0.999), histogram_.MaxMillis(), histogram_.MeanMillis());
    std::printf("  non-2xx %" PRIu64 ", body bytes %" PRIu64 ", errors %" PRIu64
                " (connect %" PRIu64 ", reset %" PRIu64 ", eof in flight %" PRIu64
                ", protocol %" PRIu64 "), server closes %" PRIu64 ", connections opened %" PRIu64
                "\n",
                non_2xx, body_bytes_, errors_.Total(), errors_.connect, errors_.reset,
                errors_.eof_in_flight, errors_.protocol, server_closes_, opened_);
    std::printf(
        "{\"recorded\":%" PRIu64 ",\"warmup\":%" PRIu64
        ",\"timed_out\":%s,\"too_many_errors\":%s,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,"
        "\"non_2xx\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"connect_errors\":%" PRIu64
        ",\"resets\":%" PRIu64 ",\"eof_in_flight\":%" PRIu64 ",\"protocol_errors\":%" PRIu64
        ",\"server_closes\":%" PRIu64 "}\n",
        recorded_, warmed_up_, timed_out_ ? "true" : "false", too_many_errors_ ? "true" : "false",
        seconds, recorded_seconds > 0 ? static_cast<double>(recorded_) / recorded_seconds : 0.0,
        histogram_.QuantileMillis(0.5), histogram_.QuantileMillis(0.99), non_2xx, errors_.Total(),
        errors_.connect, errors_.reset, errors_.eof_in_flight, errors_.protocol, server_closes_);
  }

 private:
  void Open(size_t index) {
    Conn& conn = conns_[index];
    const int fd = socket(address_->ai_family, address_->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          address_->ai_protocol);
    if (fd < 0) {
      // Out of descriptors or memory: count it and try again later.
      ++errors_.connect;
      ScheduleReconnect(index);
      return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn.fd = fd;
    conn.got_response = false;
    ++opened_;
    epoll_event event{};
    event.data.u64 = index;
    if (connect(fd, address_->ai_addr, address_->ai_addrlen) == 0) {
      event.events = EPOLLIN;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
      Send(index);
      return;
    }
    if (errno != EINPROGRESS) {
      ++errors_.connect;
      Fail(index);
      return;
    }
    conn.state = State::kConnecting;
    event.events = EPOLLOUT | EPOLLIN;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
  }

  void ScheduleReconnect(size_t index) {
    Conn& conn = conns_[index];
    conn.state = State::kWaitingReconnect;
    const unsigned exponent = std::min(conn.failures, 10U);
    ++conn.failures;
    const int64_t backoff = conn.failures <= 1 ? 0 : int64_t{1'000'000} << (exponent - 1);
    reconnects_.emplace(NowNanos() + std::min<int64_t>(backoff, 1'000'000'000), index);
  }

  // Closes the connection after an error (the caller counted it) and queues its reopening.
  void Fail(size_t index) {
    Conn& conn = conns_[index];
    if (conn.fd >= 0) {
      close(conn.fd);  // also removes it from the epoll set
      conn.fd = -1;
    }
    ScheduleReconnect(index);
  }

  // A clean close (Connection: close, or a body delimited by the close): reopen at once.
  void Recycle(size_t index) {
    Conn& conn = conns_[index];
    close(conn.fd);
    conn.fd = -1;
    conn.failures = 0;
    Open(index);
  }

  void SetWriteInterest(size_t index, bool want) {
    epoll_event event{};
    event.data.u64 = index;
    event.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0U);
    epoll_ctl(epoll_, EPOLL_CTL_MOD, conns_[index].fd, &event);
  }

  void Send(size_t index) {
    Conn& conn = conns_[index];
    conn.state = State::kSending;
    conn.sent = 0;
    conn.head.clear();
    conn.body_left = 0;
    conn.body_size = 0;
    conn.status = 0;
    conn.server_closes = false;
    conn.until_eof = false;
    conn.send_time = NowNanos();
    ContinueSend(index, /*registered_for_write=*/false);
  }

  void ContinueSend(size_t index, bool registered_for_write) {
    Conn& conn = conns_[index];
    while (conn.sent < request_.size()) {
      const ssize_t n =
          send(conn.fd, request_.data() + conn.sent, request_.size() - conn.sent, MSG_NOSIGNAL);
      if (n > 0) {
        conn.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!registered_for_write) SetWriteInterest(index, true);
        return;
      }
      ++errors_.reset;
      Fail(index);
      return;
    }
    if (registered_for_write) SetWriteInterest(index, false);
    conn.state = State::kReadingHead;
  }

  void OnEvent(size_t index, uint32_t events) {
    Conn& conn = conns_[index];
    if (conn.fd < 0) return;  // closed earlier in this batch
    if (conn.state == State::kConnecting) {
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
        ++errors_.connect;
        Fail(index);
        return;
      }
      if ((events & EPOLLOUT) == 0) return;
      SetWriteInterest(index, false);
      Send(index);
      return;
    }
    if (conn.state == State::kSending && (events & EPOLLOUT) != 0) {
      ContinueSend(index, true);
      if (conn.fd < 0 || conn.state == State::kSending) return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) Read(index);
  }

  void Read(size_t index) {
    Conn& conn = conns_[index];
    const ssize_t n = recv(conn.fd, scratch_.data(), scratch_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      ++errors_.reset;
      Fail(index);
      return;
    }
    if (n == 0) {
      if (conn.state == State::kReadingBody && conn.until_eof) {
        Complete(index, NowNanos());
        if (!Done()) Recycle(index);
        return;
      }
      // Closed with a request in flight (or at least sent in part).
      if (conn.got_response && conn.head.empty() && conn.state == State::kReadingHead) {
        ++server_closes_;  // e.g. an idle or max-requests close racing our next request
      } else {
        ++errors_.eof_in_flight;
      }
      Fail(index);
      return;
    }
    const int64_t now = NowNanos();
    std::string_view data(scratch_.data(), static_cast<size_t>(n));
    if (conn.state == State::kSending) {
      ++errors_.protocol;  // a response before the request was written
      Fail(index);
      return;
    }
    while (conn.state == State::kReadingHead) {
      const size_t old_size = conn.head.size();
      conn.head.append(data);
      const size_t end = conn.head.find("\r\n\r\n", old_size >= 3 ? old_size - 3 : 0);
      if (end == std::string::npos) {
        if (conn.head.size() > kMaxHead) {
          ++errors_.protocol;
          Fail(index);
        }
        return;
      }
      const size_t head_size = end + 4;
      if (!ParseHead(conn, std::string_view(conn.head).substr(0, head_size))) {
        ++errors_.protocol;
        Fail(index);
        return;
      }
      data.remove_prefix(head_size - old_size);
      conn.head.clear();
      if (conn.status >= 200) conn.state = State::kReadingBody;
      // else an interim (1xx) response: the real head follows, maybe in `data` already.
    }
    // kReadingBody
    if (conn.until_eof) {
      conn.body_size += data.size();
      return;
    }
    if (data.size() > conn.body_left) {
      ++errors_.protocol;  // bytes past the response: we never pipeline
      Fail(index);
      return;
    }
    conn.body_left -= data.size();
    if (conn.body_left > 0) return;
    Complete(index, now);
    if (Done()) return;
    if (conn.server_closes) {
      ++server_closes_;
      Recycle(index);
    } else {
      Send(index);
    }
  }

  static bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
      const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
      if (x != y) return false;
    }
    return true;
  }

  static std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  // Status line and the fields that frame the body. False: not a response we can follow.
  static bool ParseHead(Conn& conn, std::string_view head) {
    size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') return false;
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
      if (line[i] < '0' || line[i] > '9') return false;
      status = status * 10 + (line[i] - '0');
    }
    conn.status = status;
    const bool http10 = line[7] == '0';
    bool have_length = false;
    bool keep_alive_10 = false;
    uint64_t length = 0;
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      const size_t next = head.find("\r\n", pos);
      if (next == std::string_view::npos || next == pos) break;
      const std::string_view field = head.substr(pos, next - pos);
      pos = next + 2;
      const size_t colon = field.find(':');
      if (colon == std::string_view::npos) return false;
      const std::string_view name = field.substr(0, colon);
      const std::string_view value = Trim(field.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length")) {
        if (value.empty() || value.size() > 15) return false;
        uint64_t v = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return false;
          v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        if (have_length && v != length) return false;
        have_length = true;
        length = v;
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        return false;  // chunked bodies are not supported (the node sends Content-Length)
      } else if (EqualsIgnoreCase(name, "connection")) {
        if (EqualsIgnoreCase(value, "close")) conn.server_closes = true;
        if (EqualsIgnoreCase(value, "keep-alive")) keep_alive_10 = true;
      }
    }
    if (http10 && !keep_alive_10) conn.server_closes = true;
    const bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
    if (no_body) {
      conn.body_left = 0;
    } else if (have_length) {
      conn.body_left = length;
    } else {
      conn.until_eof = true;
      conn.server_closes = true;
    }
    conn.body_size = conn.body_left;
    return true;
  }

  bool Done() const { return recorded_ >= options_.requests; }

  void Complete(size_t index, int64_t now) {
    Conn& conn = conns_[index];
    conn.got_response = true;
    conn.failures = 0;
    conn.state = State::kWaitingReconnect;
    ++completed_;
    if (!recording_) {
      if (completed_ <= options_.warmup || now < warmup_end_) {
        ++warmed_up_;
        return;
      }
      recording_ = true;
      record_start_ = now;
    }
    ++recorded_;
    const int64_t latency = now - conn.send_time;
    histogram_.Add(latency);
    body_bytes_ += conn.body_size;
    if (conn.status >= 200 && conn.status < 300) ++status_2xx_;
    if (out_ != nullptr) {
      std::fprintf(out_, "%" PRId64 " %d %" PRIu64 "\n", latency, conn.status, conn.body_size);
    }
  }

  Options options_;
  addrinfo* address_;
  FILE* out_;
  std::string request_;
  std::vector<char> scratch_;
  std::vector<Conn> conns_;
  using Pending = std::pair<int64_t, size_t>;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> reconnects_;
  int epoll_ = -1;
  int64_t start_ = 0;
  int64_t end_ = 0;
  int64_t deadline_ = 0;
  int64_t record_start_ = 0;
  int64_t warmup_end_ = 0;
  bool recording_ = false;
  uint64_t warmed_up_ = 0;
  bool timed_out_ = false;
  bool too_many_errors_ = false;
  uint64_t completed_ = 0;
  uint64_t recorded_ = 0;
  uint64_t status_2xx_ = 0;
  uint64_t body_bytes_ = 0;
  uint64_t server_closes_ = 0;
  uint64_t opened_ = 0;
  Errors errors_;
  Histogram histogram_;
};

void RaiseFileLimit(uint64_t connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && connections + 16 > limit.rlim_cur) {
    std::fprintf(stderr,
                 "latency_recorder: warning: %" PRIu64
                 " connections need more descriptors than the limit (%llu)\n",
                 connections, static_cast<unsigned long long>(limit.rlim_cur));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  RaiseFileLimit(options.connections);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* address = nullptr;
  if (const int rc = getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &address);
      rc != 0) {
    std::fprintf(stderr, "latency_recorder: %s:%s: %s\n", options.host.c_str(),
                 options.port.c_str(), gai_strerror(rc));
    return 2;
  }

  FILE* out = nullptr;
  static char out_buffer[1 << 20];
  if (!options.out.empty()) {
    out = std::fopen(options.out.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "latency_recorder: %s: %s\n", options.out.c_str(), std::strerror(errno));
      freeaddrinfo(address);
      return 2;
    }
    setvbuf(out, out_buffer, _IOFBF, sizeof(out_buffer));
  }

  int rc = 0;
  {
    Recorder recorder(options, address, out);
    rc = recorder.Run();
    recorder.PrintSummary();
  }
  freeaddrinfo(address);
  if (out != nullptr && std::fclose(out) != 0) {
    std::fprintf(stderr, "latency_recorder: writing %s: %s\n", options.out.c_str(),
                 std::strerror(errno));
    return 2;
  }
  return rc;
}
