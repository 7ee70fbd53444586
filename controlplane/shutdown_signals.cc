#include "controlplane/shutdown_signals.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace proxynode {

int BlockSignalsIntoFd() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  return signalfd(-1, &mask, SFD_CLOEXEC);
}

std::string SignalName(int signo) {
  const char* abbreviation = sigabbrev_np(signo);
  return abbreviation != nullptr ? absl::StrCat("SIG", abbreviation)
                                 : absl::StrCat("signal ", signo);
}

int TakeSignal(int signal_fd) {
  signalfd_siginfo info{};
  if (read(signal_fd, &info, sizeof(info)) != sizeof(info)) {
    return 0;
  }
  return static_cast<int>(info.ssi_signo);
}

int WaitForSignal(int signal_fd, int timeout_ms) {
  pollfd pfd{signal_fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) {
    return 0;
  }
  return TakeSignal(signal_fd);
}

}  // namespace proxynode
