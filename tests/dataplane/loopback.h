#pragma once

// Loopback TCP sockets for in-process tests: a listener on a port the kernel picks, and a
// connected pair. Blocking unless the flags say otherwise.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace proxynode {

// A listening socket on 127.0.0.1; `*address` receives its address (port included).
inline int ListenOnLoopback(sockaddr_in* address) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *address = sockaddr_in{};
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(*address);
  EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(address), length), 0);
  EXPECT_EQ(listen(listener, 8), 0);
  EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(address), &length), 0);
  return listener;
}

// A connected pair: `client` blocking, `served` non-blocking (the end a node would accept).
struct LoopbackPair {
  int client = -1;
  int served = -1;
};

inline LoopbackPair ConnectOnLoopback() {
  sockaddr_in address;
  int listener = ListenOnLoopback(&address);
  LoopbackPair pair;
  pair.client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(connect(pair.client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  pair.served = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  EXPECT_GE(pair.served, 0);
  close(listener);
  return pair;
}

}  // namespace proxynode
