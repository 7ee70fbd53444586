#include "dataplane/server/session_pool.h"

namespace proxynode {

std::unique_ptr<Http1Session> SessionPool::Acquire(WorkerContext* context, SessionHost* host) {
  std::unique_ptr<Http1Session> session;
  if (free_.empty()) {
    session = std::make_unique<Http1Session>(loop_.timers());
    ++created_;
  } else {
    session = free_.Take();
  }
  session->Bind(context, host);
  ++in_use_;
  return session;
}

void SessionPool::Release(std::unique_ptr<Http1Session> session) {
  --in_use_;
  session->Bind(nullptr, nullptr);
  free_.Put(std::move(session));
}

}  // namespace proxynode
