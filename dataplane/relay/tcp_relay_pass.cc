// TcpRelay's pass path (tcp_relay.h): a direction no toxic touches moves its bytes as they
// come, small bursts copied through a pooled block, bulk spliced through a pipe. The held
// path is in tcp_relay_held.cc, the relay's life in tcp_relay.cc.

#include <utility>

#include "dataplane/relay/tcp_relay.h"

namespace proxynode {

bool TcpRelay::PassFlow(Flow& flow) {
  size_t burst = 0;  // bytes read in this pass
  while (true) {
    if (!FlushPassed(flow)) return false;
    if (HasPassedBytes(flow)) return true;  // the socket is full: its EPOLLOUT edge goes on
    if (flow.source_ended || !flow.from->transport.readable()) return true;
    if (flow.effects.touches_data()) return true;  // a toxic came: the next pass holds bytes
    if (flow.bulk) {
      flow.pipe = context_.pipes.Take();
      if (!flow.pipe.valid()) flow.bulk = false;  // no file descriptor for a pipe: copy
    }
    ReadResult read;
    if (flow.bulk) {
      read = flow.from->transport.SpliceIn(flow.pipe.write_fd, kPipeChunk);
      flow.in_pipe = read.bytes;
    } else {
      // One read into an empty block (all of it, from the pool): short means drained.
      size_t available = 0;
      char* space = flow.copied.PrepareWrite(context_.pool, BufferPool::kBlockSize, &available);
      read = flow.from->transport.ReadSome(space, available);
      flow.copied.Commit(read.bytes);
      // A full block: more is likely waiting, and splice moves it without copying.
      if (read.bytes == BufferPool::kBlockSize) flow.bulk = true;
    }
    burst += read.bytes;
    if (read.status == IoStatus::kError) {
      Finish(Ending::kNormal);
      return false;
    }
    if (read.status == IoStatus::kEof) flow.source_ended = true;
    // Drained after a small burst (a request, a reply): back to one recv and one send.
    if (read.status == IoStatus::kWouldBlock && burst < BufferPool::kBlockSize) flow.bulk = false;
    if (read.bytes == 0) {
      ReleasePassed(flow);
      return true;
    }
  }
}

bool TcpRelay::FlushPassed(Flow& flow) {
  if (flow.in_pipe > 0) {
    const WriteResult written = flow.to->transport.SpliceOut(flow.pipe.read_fd, flow.in_pipe);
    flow.in_pipe -= written.bytes;
    Account(flow, written.bytes, /*spliced=*/true);
    if (written.status == IoStatus::kError) {
      Finish(Ending::kNormal);
      return false;
    }
  }
  if (!flow.copied.empty()) {
    const WriteResult written = flow.to->transport.Write(flow.copied);
    Account(flow, written.bytes, /*spliced=*/false);
    if (written.status == IoStatus::kError) {
      Finish(Ending::kNormal);
      return false;
    }
  }
  if (!HasPassedBytes(flow)) ReleasePassed(flow);
  return true;
}

void TcpRelay::ReleasePassed(Flow& flow) {
  if (flow.in_pipe > 0) {
    context_.pipes.Drop(flow.pipe);  // bytes still in it: the pipe cannot serve again
  } else if (flow.pipe.valid()) {
    context_.pipes.Put(std::exchange(flow.pipe, Pipe{}));
  }
  flow.in_pipe = 0;
  flow.copied.Consume(flow.copied.size());  // what a close leaves unsent
  flow.copied.ReleaseIfEmpty(context_.pool);
}

}  // namespace proxynode
