#pragma once

// SIGTERM and SIGINT as a file descriptor: the node blocks them in every thread and its main
// loop reads them from a signalfd, so no handler interrupts a thread mid-call.
//
// Thread contract: BlockSignalsIntoFd before any thread starts (threads inherit the mask);
// the rest on the thread that reads the fd (the main loop).

#include <string>

namespace proxynode {

// Blocks the shutdown signals (and ignores SIGPIPE); returns a signalfd to read them from.
int BlockSignalsIntoFd();

// "SIGTERM"; "signal N" for a number glibc has no name for.
std::string SignalName(int signo);

// Reads a pending signal from the signalfd; its number, or 0.
int TakeSignal(int signal_fd);

// Waits up to `timeout_ms` for a signal; returns its number or 0.
int WaitForSignal(int signal_fd, int timeout_ms);

}  // namespace proxynode
