#pragma once

// Rewrites message heads as they cross the reverse proxy (RFC 9110 7.6): drops hop-by-hop
// fields, records the hop in Via and X-Forwarded-For, and re-frames the body, since the
// proxy forwards every body with framing of its own choosing. Also the chunked encoding of
// forwarded bodies.
//
// A pure unit over bytes. The heads come from the node's strict parsers (CRLF line endings,
// valid field names, no obs-fold), so nothing here validates them again. Every function
// appends to `out` and allocates nothing but the string's growth: a caller that reuses the
// string stops allocating once it is large enough.
// Thread contract: stateless; safe to call from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/http/http_body_decoder.h"
#include "dataplane/http/http_response_parser.h"

namespace proxynode {

// BodyFraming (http_body_decoder.h) says how the proxy delimits a body it forwards.

struct ProxiedRequest {
  std::string_view client_head;              // request line through the empty line, as received
  std::string_view client_ip;                // appended to X-Forwarded-For
  std::string_view upstream_address;         // the Host value when the client sent none (HTTP/1.0)
  BodyFraming framing = BodyFraming::kNone;  // kNone, kContentLength or kChunked
  uint64_t content_length = 0;               // for kContentLength
  std::string_view via_name = "proxynode";
  // The target sent upstream, in origin-form (RequestHead::target); empty: as received.
  std::string_view target = {};
  // An absolute-form target's authority: sent as Host in place of the client's Host fields
  // (RFC 9112 3.2.2: the target's authority wins); empty: the client's Host is kept.
  std::string_view authority = {};
};

// Appends the head sent upstream: "METHOD target HTTP/1.1", the client's end-to-end fields
// in order (Host kept, or replaced by `authority`), then X-Forwarded-For, X-Forwarded-Proto
// (http, when absent), Via, Host (when absent) and the framing field. Drops the hop-by-hop
// fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
// Proxy-Authorization, Proxy-Authenticate and any field the client's Connection names),
// Expect (the node answers 100-continue itself) and Content-Length. No Connection field:
// HTTP/1.1 keeps the upstream connection open by default.
void AppendUpstreamRequestHead(std::string& out, const ProxiedRequest& request);

// The Connection field a client response carries.
enum class ClientConnection : uint8_t {
  kDefault,    // none (HTTP/1.1 keep-alive)
  kClose,      // "Connection: close"
  kKeepAlive,  // "Connection: keep-alive": an HTTP/1.0 client kept alive
};

struct ProxiedResponse {
  std::string_view upstream_head;  // status line through the empty line, as received
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // for kContentLength
  ClientConnection connection = ClientConnection::kDefault;
  // The whole line, "Date: <IMF-fixdate>\r\n" (DateHeaderCache::Get); used only when the
  // upstream sent no Date.
  std::string_view date_field;
  std::string_view via_name = "proxynode";
  std::string_view fault_rule = {};  // see ClientSide
};

// Appends the head sent to the client: "HTTP/1.1 <code> <reason as received>" (also to an
// HTTP/1.0 client, RFC 9110 2.5), the upstream's end-to-end fields in order, then Via, Date
// (when absent), the framing field and Connection. Drops the same hop-by-hop fields as
// AppendUpstreamRequestHead (with those the upstream's Connection names) and Content-Length.
// kUntilClose framing always adds "Connection: close": the client must not wait for more.
void AppendClientResponseHead(std::string& out, const ProxiedResponse& response);

// What the client side of a proxied exchange contributes to the response head.
struct ClientSide {
  bool http10 = false;
  bool head_only = false;  // a HEAD request: no body is sent
  bool close = false;      // the response must say Connection: close
  // Adds "x-proxynode-fault: <name>": the fault rule that shaped this response.
  std::string_view fault_rule = {};
};

// How an upstream's response reaches the client: the framing the proxy forwards its body
// with (RFC 9112 6.3), and the Connection field. A HEAD response keeps the length a GET
// would have had; a chunked or close-delimited body goes chunked to an HTTP/1.1 client and
// close-delimited to an HTTP/1.0 one, which then cannot keep the connection.
struct ClientReframing {
  BodyFraming framing = BodyFraming::kNone;
  ClientConnection connection = ClientConnection::kDefault;
  bool close_after = false;  // the client connection closes after this response
};
ClientReframing ReframeForClient(const UpstreamResponseHead& head, const ClientSide& client);

// Appends one chunk, "<hex size>\r\n<data>\r\n"; nothing for empty data, which would end
// the body.
void AppendChunk(std::string& out, std::string_view data);

// Appends the last chunk and the end of an empty trailer section, "0\r\n\r\n".
void AppendLastChunk(std::string& out);

}  // namespace proxynode
