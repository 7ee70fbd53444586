#include "dataplane/proxy/response_forwarder.h"

#include "dataplane/core/clock.h"

namespace proxynode {
namespace {

// A scratch string grown past this by an unusual response is not kept for the next one.
constexpr size_t kMaxKeptScratch = 8 * 1024;

}  // namespace

void ResponseForwarder::Reset(bool request_was_head) { parser_.Reset(request_was_head); }

void ResponseForwarder::Clear() {
  if (scratch_.capacity() > kMaxKeptScratch) {
    std::string().swap(scratch_);
  } else {
    scratch_.clear();
  }
  out_ = nullptr;
  client_ = ClientSide{};
  status_ = 0;
  chunked_to_client_ = false;
  close_after_ = false;
  head_forwarded_ = false;
  head_bytes_ = 0;
}

void ResponseForwarder::Attach(Buffer& out) { out_ = &out; }

ResponseForwarder::Result ResponseForwarder::Pump(Buffer& in, size_t high_watermark) {
  while (true) {
    if (out_->size() >= high_watermark) {
      return Result::kFull;
    }
    const std::string_view input = in.readable();
    const ParseResult result = parser_.Parse(input);
    switch (result.event) {
      case ParseEvent::kHeadComplete:
        OnHead(input, result);
        in.Consume(result.consumed);
        continue;
      case ParseEvent::kBodyData:
        OnBody(result.body);
        in.Consume(result.consumed);
        continue;
      case ParseEvent::kMessageComplete:
        in.Consume(result.consumed);
        OnEnd();
        return Result::kDone;
      case ParseEvent::kError:
        return Result::kMalformed;
      case ParseEvent::kNeedMore:
        in.Consume(result.consumed);
        return Result::kNeedMore;
    }
  }
}

ResponseForwarder::Result ResponseForwarder::EndAtClose() {
  if (parser_.Finish().event != ParseEvent::kMessageComplete) {
    return Result::kMalformed;
  }
  OnEnd();
  return Result::kDone;
}

void ResponseForwarder::OnHead(std::string_view input, const ParseResult& result) {
  const UpstreamResponseHead& head = parser_.head();
  status_ = head.status;
  const ClientReframing reframing = ReframeForClient(head, client_);
  chunked_to_client_ = reframing.framing == BodyFraming::kChunked;
  close_after_ = reframing.close_after;
  ProxiedResponse response;
  response.upstream_head = parser_.RawHead(input, result);
  response.framing = reframing.framing;
  response.content_length = head.content_length;
  response.connection = reframing.connection;
  response.date_field = date_.Get(WallClockSeconds());
  response.fault_rule = client_.fault_rule;
  scratch_.clear();
  AppendClientResponseHead(scratch_, response);
  out_->Append(pool_, scratch_);
  head_forwarded_ = true;
  head_bytes_ = scratch_.size();
}

void ResponseForwarder::OnBody(std::string_view data) {
  if (chunked_to_client_) {
    scratch_.clear();
    AppendChunk(scratch_, data);
    out_->Append(pool_, scratch_);
  } else {
    out_->Append(pool_, data);
  }
}

void ResponseForwarder::OnEnd() {
  if (chunked_to_client_) {
    scratch_.clear();
    AppendLastChunk(scratch_);
    out_->Append(pool_, scratch_);
  }
}

}  // namespace proxynode
