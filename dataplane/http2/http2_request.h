#pragma once

// The node's view of an HTTP/2 request, built from the header fields nghttp2 decodes, one at
// a time: the same RequestHead an HTTP/1.1 request gives, and a head block in HTTP/1 form
// ("GET /path HTTP/2", then "host: <:authority>" and the fields) that fault rules match and
// logs measure. nghttp2 already enforces RFC 9113 8.2 and 8.3 (lowercase names, pseudo-fields
// first and once, no connection-specific fields, :method/:scheme/:path present); this keeps
// what the node needs and applies the node's limits on a head.
//
// A pure unit: no I/O; the strings keep their capacity across the requests of a stream pool.
// Thread contract: one session's, loop thread only.

#include <cstddef>
#include <string>
#include <string_view>

#include "dataplane/http/http_parser.h"
#include "dataplane/http2/field_list.h"

namespace proxynode {

class Http2RequestBuilder {
 public:
  // A new request, under `limits` (max_header_bytes counts each field as "name: value\r\n",
  // pseudo-fields included; max_header_count the regular fields).
  void Begin(const ParserLimits& limits);
  // One decoded field. Past the limits the rest are dropped and Finish() says 431.
  void Add(std::string_view name, std::string_view value);
  // Every field is in. Returns 0 when the request can be served, else the status to answer:
  // 431 over the limits, 400 for a target the node cannot route (not origin-form, a bad
  // content-length), 501 for CONNECT (the node tunnels nothing, as over HTTP/1.1).
  int Finish();

  const RequestHead& head() const { return head_; }
  // The head in HTTP/1 form, ending with an empty line.
  std::string_view head_block() const { return block_; }
  // The value of :authority (or of a host field without one), empty when neither came.
  std::string_view authority() const { return authority_; }
  std::string_view method_name() const { return method_; }
  // A gRPC call: content-type application/grpc, alone or with a subtype (+proto, +json).
  bool grpc() const { return grpc_; }

  // Every field as received, pseudo-fields first, for forwarding the request over HTTP/2.
  const FieldList& fields() const { return all_; }

 private:
  ParserLimits limits_;
  RequestHead head_;
  std::string method_;
  std::string authority_;
  std::string fields_;  // the regular fields, "name: value\r\n" each
  std::string block_;
  FieldList all_;
  size_t bytes_ = 0;
  size_t count_ = 0;
  bool too_large_ = false;
  bool has_host_field_ = false;
  bool bad_ = false;
  bool grpc_ = false;
};

}  // namespace proxynode
