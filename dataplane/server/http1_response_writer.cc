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
    gate_.BeginPacing(host->paced_rate(), nullptr, /*whole_connection=*/true, context->loop.now());
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
  const size_t limit = gate_.Limit(now);
  const size_t before = out_.size();
  if (limit > 0) {
    host_->WriteOutput(out_, limit);
    written_total_ += before - out_.size();
    if (host_->closed()) {
      return;
    }
  }
  if (gate_.OnWritten(before - out_.size(), now)) {
    StopPacing();  // the throttled response is all out
  }
  if (!out_.empty() && !host_->write_blocked()) {
    // Stopped at the gate, not the socket: the pace timer wakes the session (a hold waiting
    // for its head is woken by the exchange instead).
    pace_waiting_ = true;
    if (const MonoTime at = gate_.WakeAt(out_.size(), now); at != 0) {
      if (!pace_timer_.armed() || pace_timer_.deadline() != at) {
        pace_timer_.ArmAt(at);
      }
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
  if (entry.bytes_per_second == 0 || gate_.pacing()) {
    return;  // unthrottled, or paced already (by the connection's rate)
  }
  const bool whole_connection = entry.bandwidth_scope == BandwidthScope::kConnection;
  gate_.BeginPacing(entry.bytes_per_second,
                    entry.bandwidth_scope == BandwidthScope::kRule ? entry.shared_pacer : nullptr,
                    whole_connection, context_->loop.now());
  if (whole_connection) {
    host_->set_paced_rate(entry.bytes_per_second);
  }
  if (entry.holds_fault_slot) {
    // Throttled until its last byte leaves, not until it is serialized.
    entry.holds_fault_slot = false;
    holds_fault_slot_ = true;
  }
}

void Http1ResponseWriter::PaceRest() {
  gate_.PaceRest(out_.size());
  if (!gate_.pacing()) {
    StopPacing();
  }
}

void Http1ResponseWriter::StopPacing() {
  gate_.StopPacing();
  pace_waiting_ = false;
  pace_timer_.Cancel();
  if (holds_fault_slot_) {
    holds_fault_slot_ = false;
    context_->serving->admission.ReleaseFault();
  }
}

void Http1ResponseWriter::HoldProxiedResponse() {
  // Nothing of it may leave from here on (none of it is in the output yet) until the head
  // arrives and the hold is timed from then.
  hold_armed_ = true;
  gate_.HoldFromLend(out_.size());
}

void Http1ResponseWriter::StartHold(PendingResponse& entry, MonoTime now) {
  gate_.StartHold(entry.proxy_hold, entry.hold_after_head, proxy_->response_head_bytes(), now);
  entry.proxy_hold = 0;
  hold_armed_ = false;
}

void Http1ResponseWriter::Abandon() {
  if (holds_fault_slot_ || gate_.pacing()) {
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
  queue_.CompleteFront(entry.abort == AbortKind::kCut ? entry.status : 0, now,
                       {.bytes_out = TakeResponseBytes()});
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
        gate_.DropHold();
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
        // Completed before the exchange goes back to its pool: the line names its upstream.
        queue_.CompleteFront(proxy_->response_status(), current,
                             {.bytes_out = TakeResponseBytes(),
                              .upstream = proxy_->upstream_address(),
                              .upstream_time = proxy_->upstream_time()});
        context_->serving->exchanges.Drop(proxy_);
        if (paced) {
          PaceRest();
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
      if (proxy_->tls_failure() != nullptr) {
        // Said plainly: a certificate problem is the operator's to fix, not a flaky upstream.
        entry.owns_body = true;
        entry.owned_body.assign(UpstreamTlsFailureBody(proxy_->tls_failure()));
      }
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
    queue_.CompleteFront(entry.status, current, {.bytes_out = TakeResponseBytes()});
    if (paced) {
      PaceRest();
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

uint64_t Http1ResponseWriter::TakeResponseBytes() {
  const uint64_t put = written_total_ + out_.size();
  const uint64_t bytes = put - put_at_last_completion_;
  put_at_last_completion_ = put;
  return bytes;
}

void Http1ResponseWriter::Clear(BufferPool& pool) {
  Abandon();
  gate_.Clear();
  hold_armed_ = false;
  written_total_ = 0;
  put_at_last_completion_ = 0;
  out_.Consume(out_.size());
  out_.ReleaseIfEmpty(pool);
  state_ = State::kOpen;
}

}  // namespace proxynode
