#include "dataplane/server/access_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace proxynode {
namespace {

// At most PIPE_BUF bytes of whole lines per write: to a pipe (a container's stdout) such a
// write is atomic, so the node's own log lines on the same stdout never land inside one.
constexpr size_t kWriteBytes = 4096;

std::string_view MethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kOptions:
      return "OPTIONS";
    case HttpMethod::kPatch:
      return "PATCH";
    case HttpMethod::kTrace:
      return "TRACE";
    case HttpMethod::kConnect:
      return "CONNECT";
    case HttpMethod::kOther:
      break;
  }
  return "OTHER";
}

// "127.0.0.1:5000" or "[::1]:5000" into `buffer`, without allocating.
std::string_view FormatAddress(const SocketAddress& address, char* buffer, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  const auto& storage = address.storage;
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(storage).sin_addr, host, sizeof(host));
  } else if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr, host,
              sizeof(host));
  }
  const bool v6 = storage.ss_family == AF_INET6;
  const int n = std::snprintf(buffer, size, v6 ? "[%s]:%u" : "%s:%u", host,
                              static_cast<unsigned>(address.port()));
  return std::string_view(buffer, n < 0 ? 0 : std::min(static_cast<size_t>(n), size - 1));
}

// Writes all of `bytes`, retrying short writes and interruptions; false on an error (the
// rest is given up: an access log must not stop the node).
bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& where, double sample,
                                                           Nanos flush_interval) {
  if (!(sample > 0 && sample <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--access_log_sample: ", sample, " is out of range (0, 1]"));
  }
  if (where == "stdout" || where == "-") {
    return std::unique_ptr<AccessLog>(new AccessLog(STDOUT_FILENO, false, sample, flush_interval));
  }
  const int fd = ::open(where.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--access_log ", where, ": cannot open it (", std::strerror(errno), ")"));
  }
  return std::unique_ptr<AccessLog>(new AccessLog(fd, true, sample, flush_interval));
}

AccessLog::AccessLog(int fd, bool owns_fd, double sample, Nanos flush_interval)
    : fd_(fd), owns_fd_(owns_fd), sample_(sample), flush_interval_(flush_interval), writer_([this] {
        Run();
      }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (owns_fd_) ::close(fd_);
}

LineRing* AccessLog::AcquireRing() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!free_.empty()) {
    LineRing* ring = free_.back();
    free_.pop_back();
    return ring;
  }
  rings_.push_back(std::make_unique<LineRing>(kRingBytes));
  return rings_.back().get();
}

void AccessLog::ReleaseRing(LineRing* ring) {
  // Its lines are still written: the writer drains every ring, free or not.
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(ring);
}

bool AccessLog::DrainAll() {
  std::vector<LineRing*> rings;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& ring : rings_) rings.push_back(ring.get());
  }
  bool wrote = false;
  for (LineRing* ring : rings) {
    while (true) {
      const LineRing::Piece piece = ring->Take(kWriteBytes);
      if (piece.size() == 0) break;
      if (piece.second.empty()) {
        WriteAll(fd_, piece.first);
      } else {
        // One write for a piece that wraps, so that it stays whole.
        char joined[kWriteBytes + AccessLine::kCapacity];
        const size_t n = piece.size() <= sizeof(joined) ? piece.size() : 0;
        if (n != 0) {
          piece.first.copy(joined, piece.first.size());
          piece.second.copy(joined + piece.first.size(), piece.second.size());
          WriteAll(fd_, std::string_view(joined, n));
        } else {
          WriteAll(fd_, piece.first);
          WriteAll(fd_, piece.second);
        }
      }
      ring->Commit(piece.size());
      wrote = true;
    }
  }
  return wrote;
}

void AccessLog::Run() {
  pthread_setname_np(pthread_self(), "access-log");
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::nanoseconds(flush_interval_), [this] { return stopping_; });
    lock.unlock();
    while (DrainAll()) {
    }
    lock.lock();
  }
  lock.unlock();
  DrainAll();
}

AccessRecorder::AccessRecorder(AccessLog* log) : log_(log) {
  if (log_ != nullptr) {
    ring_ = log_->AcquireRing();
    per_request_ = std::max<int64_t>(1, std::llround(log_->sample() * kWhole));
  }
}

AccessRecorder::~AccessRecorder() {
  if (ring_ != nullptr) log_->ReleaseRing(ring_);
}

AccessRecord* AccessRecorder::Begin(MonoTime started, HttpMethod method, std::string_view target,
                                    uint64_t bytes_in) {
  if (ring_ == nullptr) return nullptr;
  credit_ += per_request_;
  if (credit_ < kWhole) return nullptr;
  credit_ -= kWhole;
  std::unique_ptr<AccessRecord> record;
  if (free_.empty()) {
    record = std::make_unique<AccessRecord>();
  } else {
    record = std::move(free_.back());
    free_.pop_back();
  }
  record->start_unix_nanos = RealtimeNanos() - (MonotonicNow() - started);
  record->started = started;
  record->peer = SocketAddress{};
  record->method = method;
  record->bytes_in = bytes_in;
  record->delay = 0;
  record->protocol = {};
  record->tls_version = {};
  record->route = {};
  record->fault = {};
  record->target_size = target.copy(record->target.data(), record->target.size());
  return record.release();
}

void AccessRecorder::Finish(AccessRecord* record, int status, const ResponseEnd& end,
                            MonoTime now) {
  std::unique_ptr<AccessRecord> owned(record);
  line_.Clear();
  line_.AddTime("time", record->start_unix_nanos);
  char peer[64];
  line_.AddText("peer", FormatAddress(record->peer, peer, sizeof(peer)));
  line_.AddText("method", MethodName(record->method));
  line_.AddText("target", std::string_view(record->target.data(), record->target_size));
  if (!record->protocol.empty()) line_.AddText("protocol", record->protocol);
  if (!record->tls_version.empty()) line_.AddText("tls", record->tls_version);
  line_.AddInteger("status", status);
  line_.AddInteger("bytes_in", static_cast<int64_t>(record->bytes_in));
  line_.AddInteger("bytes_out", static_cast<int64_t>(end.bytes_out));
  line_.AddMillis("duration_ms", now - record->started);
  line_.AddMillis("delay_ms", record->delay);
  if (!record->route.empty()) line_.AddText("route", record->route);
  if (!end.upstream.empty()) line_.AddText("upstream", end.upstream);
  if (end.upstream_time >= 0) line_.AddMillis("upstream_ms", end.upstream_time);
  if (!record->fault.empty()) line_.AddText("fault", record->fault);
  if (!ring_->TryPut(line_.Finish())) log_->CountDropped();
  free_.push_back(std::move(owned));
}

}  // namespace proxynode
