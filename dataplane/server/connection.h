#pragma once

// One client connection: reads and parses requests, holds each response until its delay
// has passed, and writes responses in request order (pipelining), with keep-alive.
//
// State machine (state()):
//   kIdle         keep-alive, nothing buffered, nothing owed; idle timeout runs
//   kReadingHead  part of a request head has arrived; header timeout runs
//   kReadingBody  a request body is arriving
//   kWaiting      every parsed request waits on its delay timer
//   kWriting      output is blocked on a full socket buffer
//   kLingering    final response sent, write side shut; input discarded until EOF or timeout,
//                 so the client sees the response instead of a reset
//   kClosed       fd closed; the object waits for deferred deletion
//
// A proxied request (a `proxy` route) is served by a ProxyExchange whose response streams
// into the output when it reaches the front of the queue; while one is in progress no
// further request is parsed (pipelined ones wait in the input buffer), so it is always the
// last queued.
//
// Memory: an idle connection is this object (about 120 bytes) and its place in the worker's
// IdleConnections list. Everything a request needs (buffers, parser, response queue, timers,
// proxied exchange) is a ConnectionActivity from the worker's pool, held from the first byte
// of a request until the connection is idle again.
//
// Thread contract: owned by one worker; every method runs in that worker's loop thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/config/snapshot_cache.h"
#include "dataplane/core/buffer.h"
#include "dataplane/core/event_loop.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/proxy/proxy_exchange.h"
#include "dataplane/server/connection_activity.h"
#include "dataplane/server/idle_connections.h"
#include "dataplane/server/request_handler.h"
#include "dataplane/server/worker_context.h"
#include "dataplane/stats/proxy_stats.h"

namespace proxynode {

// What moves with a connection from one worker to another (worker retirement): the socket
// and its history. Only idle connections move, so no request state travels.
struct ConnectionHandover {
  int fd = -1;
  bool holds_slot = false;
  MonoTime accepted_at = 0;
  uint64_t requests_served = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

// One row of ListConnections.
struct ConnectionInfo {
  uint64_t id = 0;
  int worker = 0;
  std::string peer;
  MonoTime accepted_at = 0;
  uint64_t requests_served = 0;
  std::string_view state;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

class Connection final : public FileEventHandler,
                         public DeferredDeletable,
                         public ProxyExchange::Client {
 public:
  enum class State : uint8_t {
    kIdle,
    kReadingHead,
    kReadingBody,
    kWaiting,
    kWriting,
    kLingering,
    kClosed
  };
  static std::string_view StateName(State state);

  // Most requests a connection parses ahead of its responses before it stops reading.
  static constexpr size_t kMaxPipelineDepth = 128;
  // Serialized responses buffered per connection before the rest wait in the queue.
  static constexpr size_t kMaxBufferedOutput = 256 * 1024;
  // CPU-local mode: an idle connection checks the CPU its packets arrive on after every this
  // many requests (and moves to the worker on that CPU).
  static constexpr uint64_t kCpuCheckInterval = 32;
  // How long a lingering close waits for the client's FIN.
  static constexpr Nanos kLingerTimeout = 2 * kSecond;
  // A request's arrival stamp is believed up to this far back (a realtime clock step could
  // make it anything).
  static constexpr Nanos kMaxArrivalAge = kSecond;

  // `holds_slot`: the connection took one of Admission's connection slots.
  Connection(WorkerContext& context, int fd, uint64_t id, bool holds_slot);
  // A connection adopted from another worker, keeping its history.
  Connection(WorkerContext& context, uint64_t id, const ConnectionHandover& handover);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers with the loop and serves.
  void Start();
  // Answers `status` (503 over the connection limit) with Connection: close and
  // Retry-After, then closes with a lingering close; no request is read.
  void StartRejected(int status, uint32_t retry_after_seconds);
  // The node is draining: close now if idle, else after the responses owed.
  void BeginDrain();
  // Closes at once (drain deadline passed).
  void Abort();
  // A new config is current: a shortened header or idle timeout applies from now on.
  void OnConfigChanged();
  // Idle only: leaves this worker's epoll set without closing the socket, and returns what
  // the adopting worker needs. The object is then closed (deferred deletion).
  ConnectionHandover Detach();
  ConnectionInfo Describe(int worker) const;

  void OnFileEvent(uint32_t events) override;
  void OnProxyProgress() override;

  uint64_t id() const { return id_; }
  int fd() const { return fd_; }
  State state() const { return state_; }
  MonoTime accepted_at() const { return accepted_at_; }
  uint64_t requests_served() const { return requests_served_; }
  // Idle and holding nothing: it can close or move to another worker as it is.
  bool idle() const { return state_ == State::kIdle && active_ == nullptr; }

 private:
  enum class CloseReason : uint8_t { kNormal, kPeerClosed, kIoError, kIdleTimeout, kDrain };

  enum class ProxyStep : uint8_t { kWaiting, kAnswered, kFailed, kAborted };

  // Reads, parses and writes until nothing more can happen now.
  void Progress();
  void ReadSocket();
  void DiscardInput();
  void ProcessInput();
  // `head_block`: the request's head as received (for forwarding).
  void OnRequestHead(std::string_view head_block);
  void StartProxy(const RequestHead& head, std::string_view head_block, const ResponsePlan& plan,
                  RouteState& route_state);
  // Streams the proxied response at the front of the queue into the output.
  ProxyStep PumpProxy(bool close);
  // Ends the exchange (giving its upstream connection back) and defers its deletion.
  void DropProxy();
  // Counts a response that left and frees its queue slot.
  void CompleteEntry(PendingResponse& entry, int status, MonoTime current);
  void OnMessageComplete();
  void OnParseError(ParseError error);
  // A new response slot at the back of the queue, stamped with the current time.
  PendingResponse& AppendEntry();
  void EnqueueImmediate(int status, std::string_view body, bool close, uint32_t retry_after);
  // Writes every response that is due, in order, then arms the delay timer for the next.
  void FlushDueResponses();
  void SerializeDueResponses();
  bool HasDueResponse() const;
  void WriteOutput();
  void OnDelayTimer();
  void OnTimeoutTimer();
  void ScheduleTimeout(MonoTime deadline);
  void UpdateState();
  void StartLingering();
  void Close(CloseReason reason);
  // Closes the fd and returns every slot and counter; no owner callback.
  void ReleaseResources();
  // Forgets a request that cannot complete (error, timeout or EOF mid-request), with the
  // response slot its head had queued.
  void AbandonCurrentRequest();
  // Returns the admission slot and gauge an entry holds.
  void ReleaseEntry(PendingResponse& entry);
  void ReleaseQueue();
  // Takes an activity from the pool (leaving the idle list) if none is held.
  void Activate();
  // Gives the activity back if it is at rest (nothing buffered, owed or running); false if
  // not, and the connection keeps it.
  bool Deactivate();
  // Gives the activity back; its buffers must be empty, its queue released, no exchange.
  void ReturnActivity();
  // Called by IdleConnections when this idle connection's idle_timeout has passed.
  void OnIdleTimeout();
  // The body of the current request is always read; a new request only when allowed.
  bool WantsInput() const { return body_in_progress_ || (!stop_reading_ && !reading_paused_); }
  size_t queue_depth() const {
    return active_ == nullptr ? 0 : active_->queue.size() - active_->queue_head;
  }
  bool closed() const { return state_ == State::kClosed; }
  MonoTime now() const { return context_.loop.now(); }
  // Records when the bytes just read arrived (socket_ops.h: ReceiveStamped).
  void NoteArrival(int64_t arrived_realtime);

  friend struct ConnectionActivity;  // its timers call OnDelayTimer / OnTimeoutTimer
  friend class IdleConnections;      // reads idle_link_ and last_activity_

  WorkerContext& context_;
  const uint64_t id_;
  MonoTime accepted_at_;
  MonoTime last_activity_;
  uint64_t requests_served_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  // Null while idle (see connection_activity.h): taken from the worker's pool when bytes
  // arrive, given back when the connection turns idle.
  std::unique_ptr<ConnectionActivity> active_;
  IdleLink idle_link_;  // in the worker's IdleConnections while idle
  const int fd_;
  State state_ = State::kIdle;
  // Bit-fields: an idle connection is this object and nothing else, so its size counts.
  bool holds_slot_ : 1;
  bool socket_readable_ : 1 = false;  // edge-triggered: data may be waiting in the socket
  bool reading_paused_ : 1 = false;   // pipeline full: parse no further until responses leave
  bool stop_reading_ : 1 = false;     // a final request was seen; read no more requests
  bool peer_closed_ : 1 = false;      // the client half-closed (we read its EOF)
  bool peer_shut_down_ : 1 = false;   // epoll reported RDHUP/HUP/ERR: an EOF or error is pending
  bool write_blocked_ : 1 = false;
  bool close_after_write_ : 1 = false;
  bool head_in_progress_ : 1 = false;
  bool body_in_progress_ : 1 = false;
  bool body_held_ : 1 = false;  // the proxied body waits for the upstream to take more
  // The socket stamps arrivals (socket_ops.h): turned on at the first delayed request, so a
  // connection that is never delayed reads with plain recv().
  bool arrival_stamps_ : 1 = false;
};

}  // namespace proxynode
