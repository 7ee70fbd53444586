// TcpRelay's held path (tcp_relay.h): a direction that toxics touch reads into its queue of
// pooled blocks with a mark per chunk, and writes what is due, in slices, at a rate, up to a
// limit. The pass path is in tcp_relay_pass.cc, the relay's life in tcp_relay.cc.

#include <algorithm>
#include <cstdint>
#include <memory>

#include "dataplane/relay/tcp_relay.h"

namespace proxynode {

bool TcpRelay::PumpHeld(Flow& flow) {
  // Reading stops when the queue is full, while the socket may hold more: no new edge will
  // say so. Read again as long as writing made room, up to kHeldRounds, then come back in
  // the next loop iteration so that one busy relay does not hold the worker.
  for (int round = 0; round < kHeldRounds; ++round) {
    const uint64_t forwarded = flow.forwarded;
    if (!ReadHeld(flow) || !WriteHeld(flow)) return false;
    const bool more_to_read = !flow.source_ended && flow.from->transport.readable();
    if (!more_to_read || flow.forwarded == forwarded || flow.to->transport.write_blocked()) {
      return true;
    }
  }
  Wake(now());
  return true;
}

bool TcpRelay::ReadHeld(Flow& flow) {
  const bool created = !flow.held;
  if (created) {
    flow.held = std::make_unique<Held>();
    if (flow.effects.rate != 0) flow.held->pacer.Start(flow.effects.rate, now());
  }
  Held& held = *flow.held;
  const FlowEffects& effects = flow.effects;
  bool read_any = false;
  while (!flow.source_ended && flow.from->transport.readable() &&
         held.mark_count < kMaxHeldChunks) {
    size_t available = 0;
    char* space = held.queue.PrepareTail(context_.pool, &available);
    if (space == nullptr) break;  // 256 KiB held: the source waits (backpressure)
    const ReadResult read = flow.from->transport.ReadSome(space, available);
    read_any = read_any || read.bytes > 0;
    if (read.bytes > 0 && effects.drops_data()) {
      // timeout and reset_peer: the data goes nowhere.
      if (effects.timeout != nullptr && effects.timeout->timeout > 0) {
        flow.drop_until = now() + effects.timeout->timeout;
      }
    } else if (read.bytes > 0) {
      held.queue.Commit(read.bytes);
      AddMark(flow, read.bytes);
    }
    if (effects.reset_peer != nullptr && flow.reset_at == 0 &&
        (read.bytes > 0 || read.status == IoStatus::kEof)) {
      flow.reset_at = now() + effects.reset_peer->timeout;
    }
    if (read.status == IoStatus::kError) {
      Finish(Ending::kNormal);
      return false;
    }
    if (read.status == IoStatus::kEof) flow.source_ended = true;
    if (read.status != IoStatus::kOk) break;
  }
  if (held.queue.empty()) held.queue.Clear(context_.pool);
  // Taken for nothing (the socket had no bytes yet): an idle relay keeps none.
  if (created && !read_any) flow.held.reset();
  return true;
}

void TcpRelay::AddMark(Flow& flow, size_t bytes) {
  Held& held = *flow.held;
  MonoTime ready = now();
  if (flow.effects.latency_mask != 0) {
    ready += DrawChunkDelay(*proxy_.config, flow.effects.latency_mask, context_.random);
  }
  if (held.mark_count > 0) {
    Mark& last = held.marks[(held.first_mark + held.mark_count - 1) % kMaxHeldChunks];
    ready = std::max(ready, last.ready_at);  // bytes never overtake one another
    if (last.ready_at == ready && last.bytes + bytes <= UINT32_MAX) {
      last.bytes += static_cast<uint32_t>(bytes);
      return;
    }
  }
  held.marks[(held.first_mark + held.mark_count) % kMaxHeldChunks] = {static_cast<uint32_t>(bytes),
                                                                      ready};
  ++held.mark_count;
}

bool TcpRelay::WriteHeld(Flow& flow) {
  if (!flow.held) return true;
  Held& held = *flow.held;
  const FlowEffects& effects = flow.effects;
  const MonoTime t = now();
  // One pacer at most: the proxy's shared one, or the connection's own.
  SharedBytePacer* shared = effects.shared_pacer;
  BytePacer* own = shared == nullptr && effects.rate != 0 ? &held.pacer : nullptr;
  while (held.mark_count > 0) {
    Mark& mark = held.marks[held.first_mark];
    if (mark.ready_at > t) {
      Wake(mark.ready_at);
      break;
    }
    size_t bytes = std::min<size_t>(mark.bytes, held.queue.Front().size());
    if (effects.slicer != nullptr) {
      if (t < held.next_slice_at) {
        Wake(held.next_slice_at);
        break;
      }
      if (held.slice_left == 0) held.slice_left = DrawSliceSize(*effects.slicer, context_.random);
      bytes = static_cast<size_t>(std::min<uint64_t>(bytes, held.slice_left));
    }
    if (effects.limit_bytes != FlowEffects::kNoLimit) {
      const uint64_t sent = flow.forwarded - flow.limit_from;
      bytes = static_cast<size_t>(
          std::min<uint64_t>(bytes, effects.limit_bytes > sent ? effects.limit_bytes - sent : 0));
    }
    if (own != nullptr && bytes > 0) {
      const size_t allowance = own->Allowance(t);
      if (allowance == 0) {
        Wake(own->ReadyAt(bytes));
        break;
      }
      bytes = std::min(bytes, allowance);
    }
    if (shared != nullptr && bytes > 0) {
      // Taken before the write: the other workers' relays see it at once.
      const size_t granted = shared->Take(bytes, t);
      if (granted == 0) {
        Wake(shared->ReadyAt(bytes));
        break;
      }
      bytes = granted;
    }
    const WriteResult written =
        bytes == 0 ? WriteResult{}
                   : flow.to->transport.WriteSome(held.queue.Front().substr(0, bytes));
    if (shared != nullptr) shared->GiveBack(bytes - written.bytes);
    if (written.bytes > 0) {
      held.queue.Consume(written.bytes, context_.pool);
      mark.bytes -= static_cast<uint32_t>(written.bytes);
      if (mark.bytes == 0) {
        held.first_mark = (held.first_mark + 1) % kMaxHeldChunks;
        --held.mark_count;
      }
      if (own != nullptr) own->Spend(written.bytes);
      if (effects.slicer != nullptr) {
        held.slice_left -= std::min<uint64_t>(held.slice_left, written.bytes);
        if (held.slice_left == 0 && effects.slicer->delay > 0) {
          held.next_slice_at = t + effects.slicer->delay;
        }
      }
      Account(flow, written.bytes, /*spliced=*/false);
    }
    if (effects.limit_bytes != FlowEffects::kNoLimit &&
        flow.forwarded - flow.limit_from >= effects.limit_bytes) {
      Finish(Ending::kNormal);  // limit_data: the connection closes at the limit
      return false;
    }
    if (written.status == IoStatus::kError) {
      Finish(Ending::kNormal);
      return false;
    }
    if (written.status == IoStatus::kWouldBlock) break;
  }
  if (held.queue.empty()) held.queue.Clear(context_.pool);
  return true;
}

}  // namespace proxynode
