#include "dataplane/http2/http2_request.h"

#include "dataplane/http/http_syntax.h"

namespace proxynode {
namespace {

constexpr std::string_view kRequestLineEnd = " HTTP/2\r\n";
constexpr std::string_view kFieldSeparator = ": ";
constexpr std::string_view kLineEnd = "\r\n";

}  // namespace

void Http2RequestBuilder::Begin(const ParserLimits& limits) {
  limits_ = limits;
  head_.method = HttpMethod::kGet;
  head_.version = HttpVersion::kHttp11;  // framing and persistence as 1.1: nothing closes
  head_.target.clear();
  head_.target_form = TargetForm::kOrigin;
  head_.authority.clear();
  head_.keep_alive = true;
  head_.chunked = false;
  head_.expect_continue = false;
  head_.content_length = 0;
  head_.header_bytes = 0;
  method_.clear();
  authority_.clear();
  fields_.clear();
  block_.clear();
  all_.Clear();
  bytes_ = 0;
  count_ = 0;
  too_large_ = false;
  has_host_field_ = false;
  bad_ = false;
  grpc_ = false;
}

void Http2RequestBuilder::Add(std::string_view name, std::string_view value) {
  bytes_ += name.size() + kFieldSeparator.size() + value.size() + kLineEnd.size();
  const bool pseudo = name.starts_with(':');
  if (!pseudo) {
    ++count_;
  }
  if (bytes_ > limits_.max_header_bytes || count_ > limits_.max_header_count) {
    too_large_ = true;
  }
  if (too_large_) {
    return;
  }
  all_.Add(name, value);
  if (pseudo) {
    if (name == ":method") {
      method_.assign(value);
    } else if (name == ":path") {
      head_.target.assign(value);
    } else if (name == ":authority") {
      authority_.assign(value);
    }
    return;  // :scheme and :protocol change nothing the node does
  }
  if (name == "host") {
    has_host_field_ = true;
    if (authority_.empty()) {
      authority_.assign(value);
    }
  } else if (name == "content-length") {
    uint64_t length = 0;
    if (!http_syntax::ParseContentLength(value, &length)) {
      bad_ = true;  // nghttp2 checks it against the DATA frames, not its syntax alone
    }
    head_.content_length = length;
  } else if (name == "content-type") {
    constexpr std::string_view kGrpc = "application/grpc";
    grpc_ =
        value.size() >= kGrpc.size() &&
        http_syntax::EqualsIgnoreCase(value.substr(0, kGrpc.size()), kGrpc) &&
        (value.size() == kGrpc.size() || value[kGrpc.size()] == '+' || value[kGrpc.size()] == ';');
  } else if (name == "expect") {
    return;  // HTTP/2 has no 100 Continue to wait for: the client sends its body at once
  }
  fields_.append(name).append(kFieldSeparator).append(value).append(kLineEnd);
}

int Http2RequestBuilder::Finish() {
  if (too_large_) {
    return 431;
  }
  head_.method = MethodFromString(method_);
  if (head_.method == HttpMethod::kConnect) {
    return 501;
  }
  if (bad_) {
    return 400;
  }
  if (head_.target == "*") {
    if (head_.method != HttpMethod::kOptions) {
      return 400;
    }
    head_.target_form = TargetForm::kAsterisk;
  } else if (!head_.target.starts_with('/')) {
    return 400;  // RFC 9113 8.3.1: origin-form, or "*" for OPTIONS
  }
  block_.reserve(method_.size() + 1 + head_.target.size() + kRequestLineEnd.size() +
                 authority_.size() + 8 + fields_.size() + kLineEnd.size());
  block_.append(method_).append(" ").append(head_.target).append(kRequestLineEnd);
  if (!has_host_field_ && !authority_.empty()) {
    block_.append("host").append(kFieldSeparator).append(authority_).append(kLineEnd);
  }
  block_.append(fields_).append(kLineEnd);
  head_.header_bytes = block_.size();
  return 0;
}

}  // namespace proxynode
