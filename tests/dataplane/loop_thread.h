#pragma once

// An EventLoop running in its own thread, for in-process tests of what lives in a loop:
// build and drive the objects under test from InLoop(), inspect them there too.

#include <future>
#include <thread>

#include "dataplane/core/event_loop.h"

namespace proxynode {

class LoopThread {
 public:
  LoopThread() : thread_([this] { loop_.Run(); }) {}
  ~LoopThread() {
    loop_.Stop();
    thread_.join();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Runs `task` in the loop thread and waits for it. Objects deleted (deferred) by `task`
  // are gone before the next InLoop's task runs.
  template <typename Task>
  void InLoop(Task task) {
    std::promise<void> done;
    loop_.Post([&] {
      task();
      done.set_value();
    });
    done.get_future().wait();
  }

  EventLoop& loop() { return loop_; }

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace proxynode
