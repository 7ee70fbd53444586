#include "dataplane/relay/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace proxynode {

PipePool::~PipePool() {
  for (Pipe& pipe : free_) Close(pipe);
}

Pipe PipePool::Take() {
  Pipe pipe;
  if (!free_.empty()) {
    pipe = free_.back();
    free_.pop_back();
  } else {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return pipe;
    pipe.read_fd = fds[0];
    pipe.write_fd = fds[1];
    // A larger pipe moves a bulk stream in fewer splices; the kernel may refuse (its
    // pipe-max-size, or the user's pipe quota), and 64 KiB still works.
    fcntl(pipe.write_fd, F_SETPIPE_SZ, static_cast<int>(kPipeBytes));
  }
  ++in_use_;
  return pipe;
}

void PipePool::Put(Pipe pipe) {
  --in_use_;
  if (free_.size() < kKept) {
    free_.push_back(pipe);
  } else {
    Close(pipe);
  }
}

void PipePool::Drop(Pipe& pipe) {
  if (!pipe.valid()) return;
  --in_use_;
  Close(pipe);
}

void PipePool::Close(Pipe& pipe) {
  if (!pipe.valid()) return;
  close(pipe.read_fd);
  close(pipe.write_fd);
  pipe = Pipe{};
}

}  // namespace proxynode
