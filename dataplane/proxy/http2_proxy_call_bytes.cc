// Http2ProxyCall's bytes both ways (http2_proxy_call.h): the client's request body and
// trailers held until the upstream's stream takes them, and the upstream's response head,
// body and trailers held until the client's stream takes them, each window opened by as much.

#include <algorithm>
#include <charconv>
#include <cstring>

#include "dataplane/http2/http2_fields.h"
#include "dataplane/proxy/http2_proxy_call.h"

namespace proxynode {

void Http2ProxyCall::OnRequestData(std::string_view data) {
  request_body_.Append(context_.pool, data);
  if (session_ != nullptr && body_deferred_) {
    body_deferred_ = false;
    session_->ResumeBody(stream_id_);
  }
}

void Http2ProxyCall::OnRequestTrailer(std::string_view name, std::string_view value) {
  request_trailers_.Add(name, value);
}

void Http2ProxyCall::OnRequestEnd() {
  request_ended_ = true;
  if (session_ != nullptr && body_deferred_) {
    body_deferred_ = false;
    session_->ResumeBody(stream_id_);
  }
  if (state_ == State::kWaiting && first_byte_deadline_ == 0 && session_ != nullptr) {
    first_byte_deadline_ = now() + route_->first_byte_timeout;
    ArmTimer();
  }
}

size_t Http2ProxyCall::TakeRequestBytesSent() {
  const size_t sent = request_bytes_sent_;
  request_bytes_sent_ = 0;
  return sent;
}

size_t Http2ProxyCall::DropRequestBody() {
  const size_t owed = request_bytes_sent_ + request_body_.size();
  request_bytes_sent_ = 0;
  request_body_.Consume(request_body_.size());
  request_body_.ReleaseIfEmpty(context_.pool);
  return owed;
}

std::string_view Http2ProxyCall::upstream_address() const {
  return upstream_address_ != nullptr ? std::string_view(*upstream_address_) : "";
}

ssize_t Http2ProxyCall::ReadResponseBody(uint8_t* buffer, size_t length, uint32_t* flags) {
  const auto end_flags = [this, flags] {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!response_trailers_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;  // the client side submits the trailers
    }
  };
  if (!response_body_.empty()) {
    const std::string_view held = response_body_.readable();
    const size_t n = std::min(length, held.size());
    std::memcpy(buffer, held.data(), n);
    response_body_.Consume(n);
    if (session_ != nullptr) {
      session_->Consume(stream_id_, n);
    }
    if (response_body_.empty()) {
      response_body_.ReleaseIfEmpty(context_.pool);
      if (response_ended_) {
        end_flags();
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (response_ended_) {
    end_flags();
    return 0;
  }
  return NGHTTP2_ERR_DEFERRED;
}

void Http2ProxyCall::OnUpstreamField(std::string_view name, std::string_view value) {
  if (has_head_) {
    response_trailers_.Add(name, value);
    return;
  }
  if (name == ":status") {
    int status = 0;
    std::from_chars(value.data(), value.data() + value.size(), status);
    interim_ = status < 200;  // nghttp2 checked it is three digits
    if (!interim_) {
      status_ = status;
    }
    return;
  }
  if (interim_) {
    return;
  }
  if (response_fields_.bytes() + name.size() + value.size() > kMaxResponseHeadBytes) {
    head_too_large_ = true;
    return;
  }
  response_fields_.Add(name, value);
}

void Http2ProxyCall::OnUpstreamHeaders() {
  if (has_head_) {
    return;  // the trailers are in; END_STREAM came with them
  }
  if (interim_) {
    interim_ = false;
    response_fields_.Clear();
    return;
  }
  has_head_ = true;
  changed_ = true;
}

void Http2ProxyCall::OnUpstreamData(std::string_view data) {
  response_bytes_ += data.size();
  response_body_.Append(context_.pool, data);
  changed_ = true;
}

void Http2ProxyCall::OnUpstreamEnd() {
  if (!has_head_ || response_ended_) {
    return;
  }
  response_ended_ = true;
  ended_at_head_ = response_bytes_ == 0 && response_trailers_.empty();
  changed_ = true;
}

void Http2ProxyCall::OnUpstreamClosed(uint32_t error_code, UpstreamLoss loss) {
  if (loss == UpstreamLoss::kTlsFailed && session_ != nullptr) {
    tls_failure_ = session_->tls_failure();
  }
  if (session_ != nullptr) {
    if (loss == UpstreamLoss::kNone) {
      // The stream is gone but the connection stays: what it holds of ours is given back to
      // the connection's window now.
      session_->Consume(stream_id_, response_body_.size());
    }
    session_ = nullptr;
  }
  if (response_ended_) {
    return;  // a clean end: what is held drains to the client
  }
  upstream_closed_ = true;
  closed_error_ = error_code;
  loss_ = loss;
  changed_ = true;
}

ssize_t Http2ProxyCall::ReadRequestBody(uint8_t* buffer, size_t length, uint32_t* flags) {
  const auto end_flags = [this, flags] {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!request_trailers_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      FillHttp2Fields(request_trailers_, trailer_nv_);
      session_->SubmitTrailers(stream_id_, trailer_nv_.data(), trailer_nv_.size());
    }
  };
  if (!request_body_.empty()) {
    const std::string_view held = request_body_.readable();
    const size_t n = std::min(length, held.size());
    std::memcpy(buffer, held.data(), n);
    request_body_.Consume(n);
    request_bytes_sent_ += n;
    request_body_taken_ += n;
    changed_ = true;
    if (request_body_.empty()) {
      request_body_.ReleaseIfEmpty(context_.pool);
      if (request_ended_) {
        end_flags();
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (request_ended_) {
    end_flags();
    return 0;
  }
  body_deferred_ = true;
  return NGHTTP2_ERR_DEFERRED;
}

}  // namespace proxynode
