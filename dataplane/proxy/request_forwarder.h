#pragma once

// The request side of a proxied exchange: the head sent upstream (http/proxy_headers.h:
// AppendUpstreamRequestHead) and the body in the upstream's framing (re-chunked when the
// client sent it chunked), buffered until the upstream takes it. The client is read no
// further while kMaxBuffered bytes wait (CanAcceptBody). The head is kept, so a request
// without a body can be sent again whole on a retry.
//
// Thread contract: one exchange's, loop thread only.

#include <cstddef>
#include <string>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_parser.h"
#include "dataplane/proxy/upstream_connection.h"

namespace proxynode {

class RequestForwarder {
 public:
  static constexpr size_t kMaxBuffered = 64 * 1024;

  explicit RequestForwarder(BufferPool& pool) : pool_(pool) {}
  ~RequestForwarder();
  RequestForwarder(const RequestForwarder&) = delete;
  RequestForwarder& operator=(const RequestForwarder&) = delete;

  // Builds the upstream head for the client's request (`head_block` as received).
  void Begin(const RequestHead& head, std::string_view head_block, std::string_view client_ip,
             std::string_view upstream_address);
  // Clears the per-request state, keeping the strings' capacity (up to a bound).
  void Clear();

  bool has_body() const { return has_body_; }
  // Every byte of the client's request has been given (head, body and its end).
  bool complete() const { return complete_; }
  // The upstream stopped reading (it may have answered early): the rest is dropped.
  bool dropping() const { return dropping_; }
  bool CanAcceptBody() const { return dropping_ || out_.size() < kMaxBuffered; }
  // The bytes waiting to be sent.
  std::string_view pending() const { return out_.readable(); }
  void OnBody(std::string_view data);
  void OnComplete();
  // Sends what is buffered. A send error stops sending for good (dropping()).
  void SendTo(UpstreamConnection& upstream);
  // A retry on a fresh connection: the whole head again (requests without a body only).
  void Restart();
  // The exchange ended: nothing more is sent.
  void Discard();

 private:
  BufferPool& pool_;
  std::string head_;     // kept for a retry of a bodiless request
  std::string scratch_;  // chunk framing, reused
  Buffer out_;           // request bytes not yet sent upstream
  bool has_body_ = false;
  bool chunked_ = false;  // the body goes upstream chunked
  bool complete_ = false;
  bool dropping_ = false;
};

}  // namespace proxynode
