#pragma once

// The access log (--access_log=stdout|PATH, off by default): one JSON line per request, or
// per sampled request (--access_log_sample). A worker never blocks or allocates for it: it
// formats the line into a fixed buffer (access_line.h) and puts it in its own ring
// (line_ring.h); one writer thread drains every ring to the output. A line that finds its
// ring full, because the writer lags, is dropped and counted.
//
// Thread contract: AccessLog is shared; Acquire/ReleaseRing and the counters are
// thread-safe. An AccessRecorder belongs to one worker's loop thread.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "dataplane/core/clock.h"
#include "dataplane/core/line_ring.h"
#include "dataplane/core/socket_ops.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/server/access_line.h"

namespace proxynode {

class AccessLog {
 public:
  // A worker's share of lines the writer has not written yet.
  static constexpr size_t kRingBytes = 512 * 1024;
  static constexpr Nanos kFlushInterval = 20 * kMillisecond;

  // "stdout", or a file opened for appending (created 0644 when missing). `sample` is the
  // share of requests logged, (0, 1]. The writer drains every `flush_interval` (tests stretch
  // it to see a full ring).
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& where, double sample,
                                                         Nanos flush_interval = kFlushInterval);
  // Writes what is left, then stops the writer.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  double sample() const { return sample_; }
  LineRing* AcquireRing();
  // The ring goes back to the pool once the writer has emptied it.
  void ReleaseRing(LineRing* ring);

  void CountDropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  AccessLog(int fd, bool owns_fd, double sample, Nanos flush_interval);
  void Run();
  // Writes what every ring holds; false when nothing was there.
  bool DrainAll();

  const int fd_;
  const bool owns_fd_;
  const double sample_;
  const Nanos flush_interval_;
  std::atomic<uint64_t> dropped_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::unique_ptr<LineRing>> rings_ ABSL_GUARDED_BY(mutex_);
  std::vector<LineRing*> free_ ABSL_GUARDED_BY(mutex_);
  std::thread writer_;
};

// How a response left, for its access-log line.
struct ResponseEnd {
  uint64_t bytes_out = 0;          // response bytes queued for the client, head included
  std::string_view upstream = {};  // "host:port" that answered a proxied request
  Nanos upstream_time = -1;        // request forwarded to response received; -1: not proxied
};

// What a worker knows of a request when its head arrives, kept until its response left.
struct AccessRecord {
  int64_t start_unix_nanos = 0;
  MonoTime started = 0;
  SocketAddress peer;
  HttpMethod method = HttpMethod::kGet;
  uint64_t bytes_in = 0;
  Nanos delay = 0;
  std::string_view protocol;     // "http/1.1", "h2c" or "h2" (static strings)
  std::string_view tls_version;  // "TLSv1.3" and the like (static), empty in clear
  std::string_view route;        // from the config snapshot the response pins
  std::string_view fault;
  size_t target_size = 0;
  std::array<char, AccessLine::kMaxText + 1> target;  // one byte more: the cut shows
};

// A worker's side of the access log: which requests are logged, their records, their lines.
class AccessRecorder {
 public:
  // `log` null: off, and Begin always answers null.
  explicit AccessRecorder(AccessLog* log);
  ~AccessRecorder();
  AccessRecorder(const AccessRecorder&) = delete;
  AccessRecorder& operator=(const AccessRecorder&) = delete;

  bool enabled() const { return ring_ != nullptr; }

  // A record for this request when it is logged (the sample decides), else null; the caller
  // fills in the rest (the peer: only a logged request pays for looking it up). Records are
  // pooled: after the first peak, none is allocated.
  AccessRecord* Begin(MonoTime started, HttpMethod method, std::string_view target,
                      uint64_t bytes_in);
  // Writes the record's line with how the response went, and frees the record. `status` 0:
  // the client got no response (the connection ended first, or a fault reset it).
  void Finish(AccessRecord* record, int status, const ResponseEnd& end, MonoTime now);

 private:
  AccessLog* log_;
  LineRing* ring_ = nullptr;
  // The sampler, in millionths: a request is logged each time the credit reaches a whole
  // one, so 0.1 logs exactly every tenth (in integers: ten tenths make one).
  static constexpr int64_t kWhole = 1'000'000;
  int64_t per_request_ = kWhole;
  int64_t credit_ = 0;
  std::vector<std::unique_ptr<AccessRecord>> free_;
  AccessLine line_;
};

}  // namespace proxynode
