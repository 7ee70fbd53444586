// libFuzzer target for the HTTP/2 server session (dataplane/server/http2_session.h) on
// libnghttp2: each input is what one client sends after the connection preface (frames,
// well-formed or not), fed to a real Http2Session in a real worker context through a fake
// connection whose reads come from the input, cut into reads where the input's own bytes say.
// The session answers with its default config (delays, and with a fault rule that resets or
// aborts some paths), so requests, responses, resets, GOAWAY and the timers all run.
//
// After each read the session must either close the connection or stay consistent: nothing
// owed while the connection is closed, no more open streams than the limit. At the end the
// timers are run out (every delay answered), the session is cleared and given back, and the
// worker's books must balance: no pending timer, pending slot or fault slot left held.
// AddressSanitizer and UBSan watch everything in between; a broken invariant aborts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/http2/h2c_upgrade.h"
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/proxy/upstream_pools.h"
#include "dataplane/server/admission.h"
#include "dataplane/server/connection.h"
#include "dataplane/server/http2_session.h"
#include "dataplane/server/idle_connections.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/session_pool.h"
#include "dataplane/server/worker_context.h"
#include "dataplane/server/worker_faults.h"
#include "dataplane/stats/proxy_stats.h"
#include "dataplane/stats/worker_stats.h"

namespace proxynode::fuzz {
namespace {

[[noreturn]] void Violation(int line, const char* condition) {
  std::fprintf(stderr, "invariant violated at line %d: %s\n", line, condition);
  std::abort();
}
#define FUZZ_CHECK(condition) \
  if (!(condition)) Violation(__LINE__, #condition)

class NoOwner : public ConnectionOwner {
 public:
  void OnConnectionClosed(Connection*) override {}
  void HandOver(Connection*) override {}
  bool MoveToIncomingCpu(Connection*) override { return false; }
};

// The connection as the session sees it: reads come from the input, writes vanish.
class FakeHost : public SessionHost {
 public:
  FakeHost(std::string_view input, BufferPool& pool) : rest_(input), pool_(pool) {}

  bool readable() const override { return !closed_ && !rest_.empty(); }
  bool input_ended() const override { return rest_.empty(); }
  bool peer_hung_up() const override { return rest_.empty(); }
  bool write_blocked() const override { return false; }
  bool closed() const override { return closed_; }
  Input ReadInput(Buffer& in, size_t limit) override {
    // One read: as many bytes as the next input byte says (1 to 256), at most `limit`.
    if (rest_.empty() || in.size() >= limit) return {};
    size_t take = 1 + static_cast<unsigned char>(rest_[0]);
    take = std::min({take, rest_.size(), limit - in.size()});
    in.Append(pool_, rest_.substr(0, take));
    rest_.remove_prefix(take);
    return {.bytes = take, .arrived_at = 0};
  }
  void WriteOutput(Buffer& out, size_t limit) override {
    const size_t written = std::min(out.size(), limit);
    written_ += written;
    out.Consume(written);
  }
  bool EndOutput(bool, bool) override {
    closed_ = true;
    return false;
  }
  void Close(CloseReason) override { closed_ = true; }
  void EnableArrivalStamps() override {}
  uint64_t CountRequest() override { return ++requests_; }
  MonoTime last_activity() const override { return 0; }
  SocketAddress peer() const override { return {}; }
  std::string_view tls_version() const override { return {}; }
  uint64_t paced_rate() const override { return 0; }
  void set_paced_rate(uint64_t) override {}
  void OnSessionAtRest() override {}
  void SwitchToHttp2(std::string_view, const Http2Upgrade*) override {}

  uint64_t written() const { return written_; }

 private:
  std::string_view rest_;
  BufferPool& pool_;
  bool closed_ = false;
  uint64_t requests_ = 0;
  uint64_t written_ = 0;
};

// The node's defaults, with a 1 ms delay, a small body limit and header limit (so the 413
// and 431 paths run), and fault rules on /reset, /cut and /grpc.
ConfigSnapshotPtr FuzzConfig() {
  NodeConfig config;
  config.delay = kMillisecond;
  config.max_body_bytes = 1024;
  config.max_header_bytes = 2048;
  FaultRule reset;
  reset.name = "reset";
  reset.match.path_prefix = "/reset";
  reset.abort.kind = AbortKind::kReset;
  FaultRule cut;
  cut.name = "cut";
  cut.match.path_prefix = "/cut";
  cut.abort.kind = AbortKind::kCut;
  cut.abort.after_bytes = 3;
  FaultRule grpc;
  grpc.name = "grpc";
  grpc.match.path_prefix = "/grpc";
  grpc.abort.kind = AbortKind::kStatus;
  grpc.abort.grpc_status = 14;
  grpc.abort.grpc_message = "down 100%";
  config.faults = {reset, cut, grpc};
  return std::make_shared<const NodeConfig>(std::move(config));
}

// A data worker's parts, limits and fault engine included (its ServingContext).
struct Worker {
  Worker()
      : pool(loop, 4),
        snapshots(FuzzConfig()),
        sessions(loop, 1),
        idle(loop, snapshots, &Connection::ExpireIdle),
        upstreams(loop, pool, proxy_stats, 0),
        proxy_context{loop, pool, date, upstreams},
        exchanges(proxy_context),
        faults(0, nullptr),
        serving{admission, upstreams, exchanges, faults},
        context{loop, pool, sessions, idle, stats, snapshots, date, handler, owner} {
    context.serving = &serving;
  }

  EventLoop loop;
  NoOwner owner;
  BufferPool pool;
  SnapshotCache snapshots;
  DateHeaderCache date;
  SessionPool sessions;
  IdleConnections idle;
  WorkerStats stats;
  RespondHandler handler;
  Admission admission{1000};
  ProxyStatsRegistry proxy_stats;
  UpstreamPools upstreams;
  ProxyContext proxy_context;
  ProxyExchangePool exchanges;
  WorkerFaults faults;
  ServingContext serving;
  WorkerContext context;
};

}  // namespace
}  // namespace proxynode::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace proxynode;
  using namespace proxynode::fuzz;
  static Worker* const worker = new Worker();  // one worker for the whole run, as in the node
  const std::string input =
      std::string(kHttp2ClientPreface) + std::string(reinterpret_cast<const char*>(data), size);
  FakeHost host(std::string_view(input).substr(kHttp2ClientPreface.size()), worker->pool);
  std::unique_ptr<Http2Session> session = worker->sessions.AcquireHttp2(&worker->context, &host);
  if (session->Start(kHttp2ClientPreface, nullptr)) {
    for (int rounds = 0; rounds < 4096 && !host.closed(); ++rounds) {
      session->Progress(/*writable_again=*/true);
      FUZZ_CHECK(session->open_streams() <= Http2Session::kMaxConcurrentStreams);
      if (!host.readable()) break;
    }
    // Every delay and first-byte delay falls due: the answers go out.
    for (int rounds = 0; rounds < 8 && !host.closed(); ++rounds) {
      worker->loop.timers().RunExpired(MonotonicNow() + 10 * kSecond);
    }
  }
  if (!host.closed()) {
    host.Close(CloseReason::kNormal);
  }
  session->Abandon();  // as the connection does when it closes
  session->Clear();
  worker->sessions.Release(std::move(session));
  // Whatever happened, nothing stays held.
  FUZZ_CHECK(worker->stats.pending_timers.Get() == 0);
  FUZZ_CHECK(worker->admission.pending() == 0);
  FUZZ_CHECK(worker->admission.active_faults() == 0);
  return 0;
}
