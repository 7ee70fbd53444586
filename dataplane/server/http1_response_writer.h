#pragma once

// The response side of an HTTP/1 session: serializes the responses owed, in request order,
// as each falls due, into the output buffer; lends the output to the proxied exchange whose
// response reached the front; writes the output to the socket; and after a response that
// closes, ends the write side. Its state machine (asserted in debug builds):
//
//   kOpen -> kClosing (a response that closes is in the output) -> kLingering (written;
//   the connection half-closed and waits for the peer's EOF)
//
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/core/buffer.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/proxy/proxy_exchange.h"
#include "dataplane/server/http1_request_reader.h"
#include "dataplane/server/output_gate.h"
#include "dataplane/server/response_queue.h"
#include "dataplane/server/session.h"
#include "dataplane/server/worker_context.h"

namespace proxynode {

class Http1ResponseWriter {
 public:
  // Serialized responses buffered before the rest wait in the queue.
  static constexpr size_t kMaxBufferedOutput = 256 * 1024;

  enum class State : uint8_t { kOpen, kClosing, kLingering };
  // How the connection ends after the response that closes it: a FIN (the normal way), or a
  // fault rule's reset or silence.
  enum class Ending : uint8_t { kFin, kReset, kSilent };

  // The session's parts the writer works on: the responses owed, the proxied exchange (whose
  // response is the last owed), the reader (stopped once a response closes) and the delay
  // timer (armed for the next response due).
  Http1ResponseWriter(ResponseQueue& queue, std::unique_ptr<ProxyExchange>& proxy,
                      Http1RequestReader& reader, Timer& delay_timer, Timer& pace_timer)
      : queue_(queue),
        proxy_(proxy),
        reader_(reader),
        delay_timer_(delay_timer),
        pace_timer_(pace_timer) {}
  Http1ResponseWriter(const Http1ResponseWriter&) = delete;
  Http1ResponseWriter& operator=(const Http1ResponseWriter&) = delete;

  // A connection a fault rule throttles for good is paced from its first byte again.
  void Bind(WorkerContext* context, SessionHost* host);

  // Serializes and writes every response that is due, in rounds, until the socket is full
  // or nothing more is due; then arms the delay timer for the next. May close the connection.
  void Flush();
  // Writes the output; once it is all out after a response that closes, ends the write side.
  void Write();
  // The connection half-closed and lingers.
  void Linger();
  // "100 Continue" ahead of the response owed (nothing else is owed yet).
  void SendContinue();
  // The connection is closing: gives back the fault slot a throttled response holds.
  void Abandon();
  void Clear(BufferPool& pool);

  State state() const { return state_; }
  bool lingering() const { return state_ == State::kLingering; }
  bool empty() const { return out_.empty(); }

 private:
  enum class ProxyStep : uint8_t { kWaiting, kAnswered, kFailed, kAborted };

  void Set(State next);
  void SerializeDue();
  // The bytes put in the output since the last response completed: this one's.
  uint64_t TakeResponseBytes();
  bool HasDue() const;
  // Lends the output to the proxied exchange at the front of the queue (which pushes its
  // response into it) and reports how far it got.
  ProxyStep StreamProxy(bool close);
  // A response that closes went into the output.
  void EndAfterThis(Ending ending = Ending::kFin);
  // The front entry, due, is a fault rule's abort other than a status: serializes what of
  // it the client gets and how the connection ends.
  void SerializeAbort(PendingResponse& entry, MonoTime now);
  // Serializes the front entry's head (and its body unless it waits for its first byte).
  void SerializeHead(PendingResponse& entry, bool close, std::string_view body, bool head_only);

  // A fault rule's bandwidth on the front entry: its output is paced (output_gate.h).
  void BeginPacing(PendingResponse& entry);
  // The paced response is all in the output: pace what is buffered, then stop.
  void PaceRest();
  void StopPacing();
  // Lends a held proxied response the output, and starts the hold's time at its head.
  void HoldProxiedResponse();
  void StartHold(PendingResponse& entry, MonoTime now);

  ResponseQueue& queue_;
  std::unique_ptr<ProxyExchange>& proxy_;
  Http1RequestReader& reader_;
  Timer& delay_timer_;
  Timer& pace_timer_;
  WorkerContext* context_ = nullptr;
  SessionHost* host_ = nullptr;
  Buffer out_;
  // Bytes ever put in `out_` is written + buffered: the difference between two responses'
  // completions is the later one's size, for the access log.
  uint64_t written_total_ = 0;
  uint64_t put_at_last_completion_ = 0;
  State state_ = State::kOpen;
  Ending ending_ = Ending::kFin;
  OutputGate gate_;
  bool pace_waiting_ = false;      // the last write stopped at the gate, not the socket
  bool holds_fault_slot_ = false;  // the paced response's max_active_faults slot
  bool hold_armed_ = false;        // holding from the lend until the head arrives
};

}  // namespace proxynode
