#include "dataplane/server/http1_response_writer.h"

#include <algorithm>
#include <cassert>

#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_response.h"
#include "dataplane/proxy/proxy_exchange_pool.h"
#include "dataplane/server/response_decision.h"

namespace proxynode {

void Http1ResponseWriter::Bind(WorkerContext* context, SessionHost* host) {
  context_ = context;
  host_ = host;
  if (host != nullptr && host->paced_rate() > 0) {
    own_pacer_.Start(host->paced_rate(), context->loop.now());
    pacer_ = &own_pacer_;
    connection_paced_ = true;
    paced_left_ = SIZE_MAX;
  }
}

void Http1ResponseWriter::Set(State next) {
  assert(static_cast<uint8_t>(next) >= static_cast<uint8_t>(state_));
  state_ = next;
}

void Http1ResponseWriter::Flush() {
  // Serialize and write in rounds: one round buffers at most kMaxBufferedOutput, and when the
  // socket takes it all without blocking no EPOLLOUT edge will come, so go on here.
  do {
    SerializeDue();
    if (host_->closed()) {
      return;
    }
    // A proxied response can end with no byte left to write (its last bytes went out in an
    // earlier round), and a close it owes must still happen: Write does that.
    if ((out_.empty() && state_ != State::kClosing) || host_->write_blocked()) {
      break;
    }
    Write();
    if (host_->closed() || lingering()) {
      return;
    }
  } while (!host_->write_blocked() && !pace_waiting_ && HasDue());
  if (!queue_.empty()) {
    const PendingResponse& front = queue_.front();
    if (front.ready && front.deadline > context_->loop.now() &&
        (!delay_timer_.armed() || delay_timer_.deadline() != front.deadline)) {
      delay_timer_.ArmAt(front.deadline);
    }
  }
}

void Http1ResponseWriter::Write() {
  // What may leave now: all of it, unless a fault rule paces the output or holds it.
  pace_waiting_ = false;
  const MonoTime now = context_->loop.now();
  size_t limit = SIZE_MAX;
  if (pacer_ != nullptr) {
    limit = std::min(pacer_->Allowance(now), paced_left_);
  }
  const bool held = holding(now);
  if (held) {
    limit = std::min(limit, hold_from_);
  }
  const size_t before = out_.size();
  if (limit > 0) {
    host_->WriteOutput(out_, limit);
    if (host_->closed()) {
      return;
    }
  }
  const size_t written = before - out_.size();
  if (held) {
    hold_from_ -= written;
  }
  if (pacer_ != nullptr) {
    pacer_->Spend(written);
    if (paced_left_ != SIZE_MAX) {
      paced_left_ -= written;
    }
    if (paced_left_ == 0) {
      StopPacing();
    }
  }
  if (!out_.empty() && !host_->write_blocked()) {
    // Stopped at the hold or the pace, not the socket: the pace timer wakes the session.
    pace_waiting_ = true;
    if (held && hold_from_ == 0) {
      if (hold_until_ != kHoldUntilHead) {
        pace_timer_.ArmAt(hold_until_);  // else the head's arrival starts the hold's time
      }
    } else if (pacer_ != nullptr) {
      ArmPaceTimer();
    }
  }
  if (proxy_ != nullptr && out_.size() < ProxyExchange::kLowWatermark) {
    proxy_->OnOutputDrained();
  }
  if (host_->write_blocked() || !out_.empty()) {
    return;
  }
  out_.ReleaseIfEmpty(context_->pool);
  if (state_ == State::kClosing) {
    switch (ending_) {
      case Ending::kFin:
        host_->EndOutput(/*input_left=*/!reader_.input().empty(), /*silent=*/false);
        break;
      case Ending::kSilent:
        host_->EndOutput(/*input_left=*/!reader_.input().empty(), /*silent=*/true);
        break;
      case Ending::kReset:
        host_->Close(CloseReason::kFaultReset);
        break;
    }
  }
}

void Http1ResponseWriter::BeginPacing(PendingResponse& entry) {
  if (entry.bytes_per_second == 0 || pacer_ != nullptr) {
    return;  // unthrottled, or paced already (by the connection's rate)
  }
  if (entry.bandwidth_scope == BandwidthScope::kRule && entry.shared_pacer != nullptr) {
    pacer_ = entry.shared_pacer;
  } else {
    own_pacer_.Start(entry.bytes_per_second, context_->loop.now());
    pacer_ = &own_pacer_;
  }
  connection_paced_ = entry.bandwidth_scope == BandwidthScope::kConnection;
  if (connection_paced_) {
    host_->set_paced_rate(entry.bytes_per_second);
  }
  paced_left_ = SIZE_MAX;
  if (entry.holds_fault_slot) {
    // Throttled until its last byte leaves, not until it is serialized.
    entry.holds_fault_slot = false;
    holds_fault_slot_ = true;
  }
}

void Http1ResponseWriter::PaceRestOfOutput() {
  if (pacer_ != nullptr && !connection_paced_) {
    paced_left_ = out_.size();
    if (paced_left_ == 0) {
      StopPacing();
    }
  }
}

void Http1ResponseWriter::StopPacing() {
  pacer_ = nullptr;
  paced_left_ = 0;
  connection_paced_ = false;
  pace_waiting_ = false;
  pace_timer_.Cancel();
  if (holds_fault_slot_) {
    holds_fault_slot_ = false;
    context_->serving->admission.ReleaseFault();
  }
}

void Http1ResponseWriter::ArmPaceTimer() {
  const MonoTime at = pacer_->ReadyAt(std::min(out_.size(), paced_left_));
  if (!pace_timer_.armed() || pace_timer_.deadline() != at) {
    pace_timer_.ArmAt(at);
  }
}

void Http1ResponseWriter::HoldProxiedResponse() {
  // Nothing of it may leave from here on (none of it is in the output yet) until the head
  // arrives and the hold is timed from then.
  hold_armed_ = true;
  hold_from_ = out_.size();
  hold_until_ = kHoldUntilHead;
}

void Http1ResponseWriter::StartHold(PendingResponse& entry, MonoTime now) {
  if (entry.hold_after_head) {
    hold_from_ += proxy_->response_head_bytes();
  }
  hold_until_ = now + entry.proxy_hold;
  entry.proxy_hold = 0;
  hold_armed_ = false;
}

void Http1ResponseWriter::Abandon() {
  if (holds_fault_slot_ || pacer_ != nullptr) {
    StopPacing();
  }
}

void Http1ResponseWriter::Linger() {
  Set(State::kLingering);
  delay_timer_.Cancel();
}

void Http1ResponseWriter::SendContinue() {
  out_.Append(context_->pool, "HTTP/1.1 100 Continue\r\n\r\n");
}

bool Http1ResponseWriter::HasDue() const {
  if (state_ != State::kOpen || queue_.empty()) {
    return false;
  }
  const PendingResponse& front = queue_.front();
  return front.ready && front.deadline <= context_->loop.now();
}

void Http1ResponseWriter::EndAfterThis(Ending ending) {
  Set(State::kClosing);
  ending_ = ending;
  reader_.StopReading();
}

void Http1ResponseWriter::SerializeHead(PendingResponse& entry, bool close, std::string_view body,
                                        bool head_only) {
  ResponseHead head;
  head.status = entry.status;
  head.content_length = entry.body_text().size();
  head.content_type = entry.content_type;
  head.close = close;
  head.keep_alive_header = entry.keep_alive_header && !close;
  head.retry_after_seconds = entry.retry_after_seconds;
  head.extra_fields = entry.extra_fields;
  head.fault_rule = entry.fault_tag;
  AppendResponse(out_, context_->pool, head, context_->date.Get(WallClockSeconds()), body,
                 head_only);
}

void Http1ResponseWriter::SerializeAbort(PendingResponse& entry, MonoTime now) {
  const std::string_view body = entry.body_text();
  switch (entry.abort) {
    case AbortKind::kClose:
      EndAfterThis(Ending::kFin);
      break;
    case AbortKind::kSilent:
      EndAfterThis(Ending::kSilent);
      break;
    case AbortKind::kReset: {
      // The first `after_bytes` of the response leave, then the reset.
      if (entry.after_bytes > 0) {
        const size_t before = out_.size();
        SerializeHead(entry, /*close=*/true, body, entry.head_only);
        const size_t kept = before + static_cast<size_t>(entry.after_bytes);
        if (kept < out_.size()) {
          out_.Truncate(kept);
        }
      }
      EndAfterThis(Ending::kReset);
      break;
    }
    case AbortKind::kCut: {
      // The head promises the whole body; fewer bytes come, then the close says so.
      const size_t sent = std::min<uint64_t>(entry.after_bytes, body.empty() ? 0 : body.size() - 1);
      SerializeHead(entry, /*close=*/true, body.substr(0, sent), entry.head_only);
      EndAfterThis(Ending::kFin);
      break;
    }
    case AbortKind::kStatus:
    case AbortKind::kNone:
      break;
  }
  // A response the client never got in full is not counted as one.
  queue_.CompleteFront(entry.abort == AbortKind::kCut ? entry.status : 0, now);
}

void Http1ResponseWriter::SerializeDue() {
  const MonoTime current = context_->loop.now();
  while (!queue_.empty() && out_.size() < kMaxBufferedOutput) {
    PendingResponse& entry = queue_.front();
    if (!entry.ready || entry.deadline > current) {
      break;
    }
    BeginPacing(entry);
    const bool paced = entry.bytes_per_second > 0;
    // A draining node closes after the last response owed, saying so in that response.
    const bool drain_close = context_->draining && !reader_.in_head() && !reader_.in_body();
    bool close = entry.close || (queue_.front_is_last() && (host_->input_ended() || drain_close));
    if (entry.proxied) {
      if (entry.proxy_hold > 0 && !hold_armed_) {
        HoldProxiedResponse();
      }
      const ProxyStep step = StreamProxy(close);
      if (hold_armed_ && proxy_->head_forwarded()) {
        StartHold(entry, current);
      } else if (hold_armed_ && step != ProxyStep::kWaiting) {
        hold_armed_ = false;  // no head came: the node's own 502/504 is not held
        hold_until_ = 0;
      }
      if (step == ProxyStep::kWaiting) {
        break;
      }
      if (step == ProxyStep::kAborted) {
        host_->Close(CloseReason::kIoError);  // the response was cut: only closing says so
        return;
      }
      if (step == ProxyStep::kAnswered) {
        close = close || proxy_->closes_connection();
        const int status = proxy_->response_status();
        context_->serving->exchanges.Drop(proxy_);
        queue_.CompleteFront(status, current);
        if (paced) {
          PaceRestOfOutput();
        }
        if (close) {
          EndAfterThis();
          break;
        }
        continue;
      }
      // Nothing reached the client: it gets a 502 or 504 like any other response.
      entry.proxied = false;
      entry.status = proxy_->error_status();
      entry.body = ErrorBody(entry.status);
      context_->serving->exchanges.Drop(proxy_);
    }
    if (entry.abort != AbortKind::kNone && entry.abort != AbortKind::kStatus) {
      SerializeAbort(entry, current);
      break;
    }
    const std::string_view body = entry.body_text();
    if (entry.head_sent) {
      out_.Append(context_->pool, body);  // the body held back for its first byte
    } else if (entry.first_byte_delay > 0 && !entry.head_only && !body.empty()) {
      SerializeHead(entry, close, body, /*head_only=*/true);
      entry.head_sent = true;
      entry.deadline = current + entry.first_byte_delay;
      continue;  // not due yet: the loop stops at it, and Flush arms the timer
    } else {
      SerializeHead(entry, close, body, entry.head_only);
    }
    queue_.CompleteFront(entry.status, current);
    if (paced) {
      PaceRestOfOutput();
    }
    if (close) {
      EndAfterThis();
      break;
    }
  }
}

Http1ResponseWriter::ProxyStep Http1ResponseWriter::StreamProxy(bool close) {
  const PendingResponse& entry = queue_.front();
  proxy_->StreamInto(out_, ClientSide{.http10 = entry.http10,
                                      .head_only = entry.head_only,
                                      .close = close,
                                      .fault_rule = entry.fault_tag});
  switch (proxy_->outcome()) {
    case ProxyExchange::Outcome::kPending:
      return ProxyStep::kWaiting;
    case ProxyExchange::Outcome::kDone:
      return ProxyStep::kAnswered;
    case ProxyExchange::Outcome::kFailed:
      return ProxyStep::kFailed;
    case ProxyExchange::Outcome::kAborted:
      return ProxyStep::kAborted;
  }
  return ProxyStep::kAborted;
}

void Http1ResponseWriter::Clear(BufferPool& pool) {
  Abandon();
  hold_until_ = 0;
  hold_from_ = 0;
  hold_armed_ = false;
  own_pacer_ = BytePacer{};
  out_.Consume(out_.size());
  out_.ReleaseIfEmpty(pool);
  state_ = State::kOpen;
}

}  // namespace proxynode
