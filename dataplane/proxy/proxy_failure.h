#pragma once

// Why a proxied request failed, what the client is answered for it, and how the upstream's
// stats count it: shared by HTTP/1.1 exchanges (proxy_exchange.h) and HTTP/2 calls
// (http2_proxy_call.h).
//
// Thread contract: stateless.

#include <cstdint>

#include "dataplane/stats/proxy_stats.h"

namespace proxynode {

enum class ProxyFailure : uint8_t {
  kConnectFailed,
  kConnectTimeout,
  kFirstByteTimeout,
  kTotalTimeout,
  kBroken
};

inline bool IsTimeout(ProxyFailure failure) {
  return failure == ProxyFailure::kConnectTimeout || failure == ProxyFailure::kFirstByteTimeout ||
         failure == ProxyFailure::kTotalTimeout;
}

// The status a client gets when nothing of the response reached it: 504 after a timeout,
// else 502.
inline int StatusFor(ProxyFailure failure) { return IsTimeout(failure) ? 504 : 502; }

// Counts a timeout under its reason; connect failures and breaks are counted where they are
// detected (a retried one is counted too).
inline void CountTimeout(UpstreamStats::Errors& errors, ProxyFailure failure) {
  switch (failure) {
    case ProxyFailure::kConnectTimeout:
      errors.connect_timeout.Add();
      break;
    case ProxyFailure::kFirstByteTimeout:
      errors.first_byte_timeout.Add();
      break;
    case ProxyFailure::kTotalTimeout:
      errors.total_timeout.Add();
      break;
    case ProxyFailure::kConnectFailed:
    case ProxyFailure::kBroken:
      break;
  }
}

}  // namespace proxynode
