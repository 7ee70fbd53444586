#include "dataplane/proxy/request_forwarder.h"

#include "dataplane/http/proxy_headers.h"

namespace proxynode {
namespace {

// Strings grown past this by an unusual request are not kept for the next one.
constexpr size_t kMaxKeptStringCapacity = 8 * 1024;

void ClearKeepingCapacity(std::string& text) {
  if (text.capacity() > kMaxKeptStringCapacity) {
    std::string().swap(text);
  } else {
    text.clear();
  }
}

}  // namespace

RequestForwarder::~RequestForwarder() { Discard(); }

void RequestForwarder::Begin(const RequestHead& head, std::string_view head_block,
                             std::string_view client_ip, std::string_view upstream_address) {
  has_body_ = head.chunked || head.content_length > 0;
  chunked_ = head.chunked;
  complete_ = !has_body_;
  ProxiedRequest request;
  request.client_head = head_block;
  request.target = head.target;
  request.authority = head.authority;
  request.client_ip = client_ip;
  request.upstream_address = upstream_address;
  if (head.chunked) {
    request.framing = BodyFraming::kChunked;
  } else if (head.content_length > 0 || head.method == HttpMethod::kPost ||
             head.method == HttpMethod::kPut || head.method == HttpMethod::kPatch) {
    // A body-carrying method says its (possibly empty) length, as upstreams may require.
    request.framing = BodyFraming::kContentLength;
    request.content_length = head.content_length;
  }
  AppendUpstreamRequestHead(head_, request);
  out_.Append(pool_, head_);
}

void RequestForwarder::Clear() {
  Discard();
  ClearKeepingCapacity(head_);
  ClearKeepingCapacity(scratch_);
  has_body_ = chunked_ = complete_ = dropping_ = false;
}

void RequestForwarder::OnBody(std::string_view data) {
  if (dropping_) {
    return;  // the upstream stopped reading: its answer decides
  }
  if (chunked_) {
    scratch_.clear();
    AppendChunk(scratch_, data);
    out_.Append(pool_, scratch_);
  } else {
    out_.Append(pool_, data);
  }
}

void RequestForwarder::OnComplete() {
  complete_ = true;
  if (chunked_ && !dropping_) {
    scratch_.clear();
    AppendLastChunk(scratch_);
    out_.Append(pool_, scratch_);
  }
}

void RequestForwarder::SendTo(UpstreamConnection& upstream) {
  if (dropping_) {
    out_.Consume(out_.size());  // nobody takes it any more
  }
  if (!out_.empty()) {
    const WriteResult written = upstream.Send(out_);
    if (written.status == IoStatus::kWouldBlock) {
      return;  // EPOLLOUT will come
    }
    if (written.status == IoStatus::kError) {
      // An upstream may answer early (413, 401) and close without reading the rest: its
      // answer is still in our receive queue, so the response decides.
      dropping_ = true;
      out_.Consume(out_.size());
    }
  }
  out_.ReleaseIfEmpty(pool_);
}

void RequestForwarder::Restart() {
  out_.Consume(out_.size());
  out_.Append(pool_, head_);
  dropping_ = false;
}

void RequestForwarder::Discard() {
  out_.Consume(out_.size());
  out_.ReleaseIfEmpty(pool_);
}

}  // namespace proxynode
