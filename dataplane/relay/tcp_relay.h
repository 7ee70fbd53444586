#pragma once

// One relayed TCP connection of a TCP proxy (issue 19): the client's socket, the upstream's,
// and a flow of bytes each way between them, through the toxics that hit the connection.
// Both sockets are SocketTransports, the same transport HTTP connections use; the relay is
// the session above them that speaks no protocol at all.
//
//   client --upstream flow-->  [toxics of stream "upstream"]   --> upstream
//   client <--downstream flow-- [toxics of stream "downstream"] <-- upstream
//
// A flow that no toxic touches moves its bytes as they come. A small burst (one read that
// does not fill a 16 KiB pooled block) is read with recv(2) and written with send(2): a short
// read says the socket is drained, so a request/response exchange costs one read and one
// write each way. Once a burst fills a block, the flow moves with splice(2) through a pipe
// from the worker's PipePool, zero-copy, until a burst is small again. Either way, the block
// or pipe is held only while bytes are in flight: an idle relay holds neither.
// A touched flow reads into a ByteQueue of pooled blocks (at most 256 KiB held per
// direction, then the source is no longer read: backpressure both ways) with a mark
// per chunk read saying when it may leave (latency), and writes it out in slices (slicer),
// at a rate (bandwidth), up to a limit (limit_data). One timer serves everything the relay
// waits for: the connect timeout, held chunks, pacing, and the timeout, reset and close
// toxics. An EOF passes through as a half-close (delayed by slow_close); the relay closes
// once both directions have ended, or at once on an error from either side.
//
// Config changes: the worker calls ApplyToxics with the proxy's new config, which draws the
// toxicity of every toxic again and recomputes both flows' effects in one step (a config
// version reaches a connection whole); bytes held under the old toxics leave at once.
//
// Thread contract: owned by one worker; every method runs in its loop thread.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/config/config_snapshot.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/core/byte_pacer.h"
#include "dataplane/core/byte_queue.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/fault/fault_random.h"
#include "dataplane/relay/flow_effects.h"
#include "dataplane/relay/pipe_pool.h"
#include "dataplane/stats/tcp_proxy_stats.h"
#include "dataplane/transport/socket_transport.h"

namespace proxynode {

class TcpRelay;

// What a relay needs from the worker that owns it.
class RelayOwner {
 public:
  virtual ~RelayOwner() = default;
  // The relay closed both sockets; the owner forgets it and defers its deletion.
  virtual void OnRelayClosed(TcpRelay* relay) = 0;
  // The relay holds nothing in flight (AtRest): a retiring worker may hand it over now.
  virtual void OnRelayAtRest(TcpRelay* relay) = 0;
};

// What moves with a relay from a retiring worker to another: both sockets and the relay's
// history. Only a relay at rest moves, so no byte is in flight.
struct RelayHandover {
  int client_fd = -1;
  int upstream_fd = -1;
  uint64_t id = 0;
  MonoTime accepted_at = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  // The config the relay ran under and its draws: kept when the adopter's toxics are the same.
  ConfigSnapshotPtr snapshot;
  const TcpProxyConfig* config = nullptr;
  uint32_t hit_mask = 0;
};

struct RelayContext {
  EventLoop& loop;
  BufferPool& pool;
  PipePool& pipes;
  FaultRandom& random;
  SharedPacers& pacers;
  RelayOwner& owner;
};

// The proxy a relay serves, as of the config it runs under; the snapshot keeps `config`
// alive. `(*toxic_stats)[i]` counts proxy.toxics[i]'s draws: the worker's list, which it
// updates with each config before the relays take it (so a relay reads it only when it
// draws, right then).
struct RelayProxy {
  ConfigSnapshotPtr snapshot;
  const TcpProxyConfig* config = nullptr;
  TcpProxyStats* stats = nullptr;
  const std::vector<std::shared_ptr<ToxicStats>>* toxic_stats = nullptr;
};

// One row of ListConnections.
struct RelayInfo {
  uint64_t id = 0;
  std::string peer;
  std::string proxy;
  std::string upstream;
  MonoTime accepted_at = 0;
  std::string_view state;
  uint64_t bytes_in = 0;   // from the client
  uint64_t bytes_out = 0;  // to the client
};

class TcpRelay final : public DeferredDeletable {
 public:
  static constexpr size_t kPipeChunk = PipePool::kPipeBytes;
  // Chunks held per direction (each with its own release time); then the source waits.
  static constexpr size_t kMaxHeldChunks = 64;
  // Read-then-write passes of a touched flow per wake-up (each up to 256 KiB).
  static constexpr int kHeldRounds = 16;

  TcpRelay(RelayContext& context, uint64_t id, int client_fd, RelayProxy proxy);
  // A relay adopted from another worker (`proxy` as this worker runs it): both sockets
  // connected, its history kept. Start() then registers them.
  TcpRelay(RelayContext& context, const RelayHandover& handover, RelayProxy proxy);
  ~TcpRelay() override;
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // Draws the toxics, then connects to the upstream (or closes at once: a down toxic, or a
  // socket that cannot be made).
  void Start();
  // The proxy's config changed (same name, listen and upstream): toxics that changed are
  // drawn again, and the bytes move under them from the loop's next turn.
  void ApplyToxics(RelayProxy proxy);
  // Closes both sockets now (proxy removed or disabled, drain deadline, stop).
  void Abort();
  // Connected, both directions open, nothing held, no toxic deadline pending: the relay can
  // move to another worker as it is.
  bool AtRest() const;
  // At rest only: leaves this loop without closing the sockets and returns what the adopter
  // needs. The relay is then closed (the owner is told, as for a close).
  RelayHandover Detach();

  uint64_t id() const { return id_; }
  const TcpProxyConfig& proxy() const { return *proxy_.config; }
  bool closed() const { return closed_; }
  // Closed by Detach: its sockets (and admission slot) went on to another worker.
  bool handed_over() const { return handed_over_; }
  RelayInfo Describe() const;

 private:
  enum class SideId : uint8_t { kClient, kUpstream };
  struct Side final : FileEventHandler {
    Side(TcpRelay& owner, int fd, bool connecting) : relay(owner), transport(fd, connecting) {}
    void OnFileEvent(uint32_t events) override { relay.OnSideEvent(*this, events); }
    TcpRelay& relay;
    SocketTransport transport;
  };
  // A chunk read and when it may leave.
  struct Mark {
    uint32_t bytes = 0;
    MonoTime ready_at = 0;
  };
  // A touched flow's held bytes, taken when its first bytes arrive under a toxic.
  struct Held {
    ByteQueue queue;
    std::array<Mark, kMaxHeldChunks> marks;
    size_t first_mark = 0;
    size_t mark_count = 0;
    BytePacer pacer;  // the per-connection rate
    uint64_t slice_left = 0;
    MonoTime next_slice_at = 0;
  };
  struct Flow {
    Side* from = nullptr;
    Side* to = nullptr;
    Counter* bytes_counter = nullptr;
    FlowEffects effects;
    Pipe pipe;
    size_t in_pipe = 0;
    // An untouched flow's small bursts, read with recv into a pooled block (PassFlow).
    Buffer copied;
    bool bulk = false;  // a burst filled a block: splice until a burst is small again
    std::unique_ptr<Held> held;
    uint64_t forwarded = 0;   // bytes written to `to`
    uint64_t limit_from = 0;  // `forwarded` when the limit_data toxic reached the flow
    MonoTime drop_until = 0;  // timeout toxic: the close deadline (0: none)
    MonoTime reset_at = 0;    // reset_peer: armed by the first data
    MonoTime close_at = 0;    // slow_close: when the EOF may pass
    bool source_ended = false;
    bool sink_shut = false;
  };

  void OnSideEvent(Side& side, uint32_t events);
  void OnConnected(int error);
  void OnTimer();
  // Moves what can move now in both directions, then closes or arms the timer.
  void Progress();
  // False when the relay closed.
  bool PumpFlow(Flow& flow);
  // A flow no toxic touches (tcp_relay_pass.cc).
  bool PassFlow(Flow& flow);
  bool FlushPassed(Flow& flow);
  static bool HasPassedBytes(const Flow& flow) { return flow.in_pipe > 0 || !flow.copied.empty(); }
  void ReleasePassed(Flow& flow);
  bool PumpHeld(Flow& flow);
  bool ReadHeld(Flow& flow);
  bool WriteHeld(Flow& flow);
  bool EndFlow(Flow& flow);
  void DrawToxics();
  // Recomputes both flows' effects from proxy_ and hit_mask_; held bytes leave at once.
  void ApplyEffects(Flow& flow, ToxicStream stream);
  void AddMark(Flow& flow, size_t bytes);
  void Account(Flow& flow, size_t bytes, bool spliced);
  void Wake(MonoTime at) { wake_at_ = std::min(wake_at_, at); }
  // kReset: both sockets get a TCP reset.
  enum class Ending : uint8_t { kNormal, kReset };
  void Finish(Ending ending);
  MonoTime now() const { return context_.loop.now(); }

  RelayContext& context_;
  const uint64_t id_;
  RelayProxy proxy_;
  MonoTime accepted_at_;
  MonoTime connect_deadline_ = 0;
  MonoTime wake_at_ = 0;
  uint32_t hit_mask_ = 0;
  bool connected_ = false;
  bool closed_ = false;
  bool handed_over_ = false;
  bool adopted_ = false;  // Start registers and relays; no toxics drawn (kept from the handover)
  Side client_;
  std::optional<Side> upstream_;  // from Start on
  Flow up_;                       // client -> upstream
  Flow down_;                     // upstream -> client
  Timer timer_;
};

}  // namespace proxynode
