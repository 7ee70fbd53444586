#pragma once

// Pipes for zero-copy relaying (splice(2): socket -> pipe -> socket), kept per worker. A
// relay takes one only while bytes are in flight through it and gives it back once the pipe
// is empty, so an idle relayed connection holds no pipe and costs no file descriptors beyond
// its two sockets.
//
// Thread contract: the owning worker's loop thread.

#include <cstddef>
#include <vector>

namespace proxynode {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  bool valid() const { return read_fd >= 0; }
};

class PipePool {
 public:
  // Free pipes kept for reuse; beyond it a returned pipe is closed.
  static constexpr size_t kKept = 64;
  // The capacity asked for each pipe (the kernel's default is 64 KiB).
  static constexpr size_t kPipeBytes = 256 * 1024;

  PipePool() = default;
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A kept pipe or a new one (non-blocking, close-on-exec); invalid when pipe2 fails (out
  // of file descriptors): the caller then relays through its buffers.
  Pipe Take();
  // `pipe` must be empty.
  void Put(Pipe pipe);
  // A taken pipe that may still hold bytes (its relay closed): closed, never reused.
  void Drop(Pipe& pipe);

  size_t in_use() const { return in_use_; }

 private:
  static void Close(Pipe& pipe);

  std::vector<Pipe> free_;
  size_t in_use_ = 0;
};

}  // namespace proxynode
