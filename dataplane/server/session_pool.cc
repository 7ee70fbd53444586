#include "dataplane/server/session_pool.h"

namespace proxynode {

std::unique_ptr<Session> SessionPool::Acquire(WorkerContext* context, SessionHost* host) {
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

std::unique_ptr<Http2Session> SessionPool::AcquireHttp2(WorkerContext* context, SessionHost* host) {
  std::unique_ptr<Http2Session> session;
  if (free_http2_.empty()) {
    session = std::make_unique<Http2Session>(loop_.timers());
    ++created_;
  } else {
    session = free_http2_.Take();
  }
  session->Bind(context, host);
  ++in_use_;
  return session;
}

void SessionPool::Release(std::unique_ptr<Session> session) {
  --in_use_;
  switch (session->protocol()) {
    case SessionProtocol::kHttp1: {
      std::unique_ptr<Http1Session> http1(static_cast<Http1Session*>(session.release()));
      http1->Bind(nullptr, nullptr);
      free_.Put(std::move(http1));
      return;
    }
    case SessionProtocol::kHttp2: {
      std::unique_ptr<Http2Session> http2(static_cast<Http2Session*>(session.release()));
      http2->Bind(nullptr, nullptr);
      free_http2_.Put(std::move(http2));
      return;
    }
  }
}

}  // namespace proxynode
