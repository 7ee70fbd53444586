#include "dataplane/proxy/proxy_exchange_pool.h"

namespace proxynode {

ProxyExchangePool::ProxyExchangePool(ProxyContext& context, size_t min_kept)
    : context_(context),
      free_(&context.loop, min_kept),
      recycle_timer_(context.loop.timers(), [this] { RecycleReleased(); }) {}

std::unique_ptr<ProxyExchange> ProxyExchangePool::Acquire() {
  if (free_.empty()) {
    ++created_;
    return std::make_unique<ProxyExchange>(context_);
  }
  return free_.Take();
}

void ProxyExchangePool::Release(std::unique_ptr<ProxyExchange> exchange) {
  released_.push_back(std::move(exchange));
  if (!recycle_timer_.armed()) {
    recycle_timer_.ArmAt(context_.loop.now());
  }
}

void ProxyExchangePool::RecycleReleased() {
  for (std::unique_ptr<ProxyExchange>& exchange : released_) {
    exchange->Recycle();
    free_.Put(std::move(exchange));
  }
  released_.clear();
}

}  // namespace proxynode
