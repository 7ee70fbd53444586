#pragma once

// A worker's proxied exchanges, kept for reuse so a proxied request allocates nothing: the
// exchange object, its request-head and scratch strings keep their storage across requests.
//
// An exchange given back may still be on the stack (a client connection closes from inside
// the exchange's own callback), so it is recycled only once that call has returned: from a
// timer armed for the current instant, which runs from the loop itself, never nested.
//
// Thread contract: one per worker; loop thread only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/core/event_loop.h"
#include "dataplane/core/free_list.h"
#include "dataplane/core/timer_queue.h"
#include "dataplane/proxy/proxy_context.h"
#include "dataplane/proxy/proxy_exchange.h"

namespace proxynode {

class ProxyExchangePool {
 public:
  explicit ProxyExchangePool(ProxyContext& context, size_t min_kept = 64);
  ProxyExchangePool(const ProxyExchangePool&) = delete;
  ProxyExchangePool& operator=(const ProxyExchangePool&) = delete;

  // An exchange ready for Start().
  std::unique_ptr<ProxyExchange> Acquire();
  // `exchange` has ended (done, failed or abandoned); it is reused once it is off the stack.
  void Release(std::unique_ptr<ProxyExchange> exchange);
  // Abandons `exchange` (giving its upstream connection back) and releases it; no-op when
  // null.
  void Drop(std::unique_ptr<ProxyExchange>& exchange) {
    if (exchange != nullptr) {
      exchange->Abandon();
      Release(std::move(exchange));
    }
  }

  size_t free_count() const { return free_.size(); }
  // The worker's proxy context, for HTTP/2 calls (pooled with their streams instead).
  ProxyContext& context() { return context_; }
  // Exchanges created since start (each one an allocation).
  uint64_t created() const { return created_; }

 private:
  void RecycleReleased();

  ProxyContext& context_;
  std::vector<std::unique_ptr<ProxyExchange>> released_;  // waiting to be off the stack
  TrimmedFreeList<std::unique_ptr<ProxyExchange>> free_;
  Timer recycle_timer_;
  uint64_t created_ = 0;
};

}  // namespace proxynode
