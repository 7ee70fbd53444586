#pragma once

// Where HTTP/1.1 turns into HTTP/2 on a clear connection.
//
// The client preface (RFC 9113 3.3): a client with prior knowledge starts with it where an
// HTTP/1.1 request would start.
//
// "Upgrade: h2c" (RFC 7540 3.2): an HTTP/1.1 request asks for HTTP/2; the node agrees to a
// request without a body (answered as stream 1), and answers any other over HTTP/1.1, which
// the RFC allows.
//
// An HTTP/1.1 request head as HTTP/2 fields: what an "Upgrade: h2c" request becomes when it
// is answered as stream 1 (RFC 7540 3.2). The request line gives :method and :path, Host
// gives :authority, and the fields that only mean something to one HTTP/1.1 connection
// (Connection, Upgrade, HTTP2-Settings, Keep-Alive, Transfer-Encoding, TE,
// Proxy-Connection) are left out, as RFC 9113 8.2.2 asks. Names go lowercase.
//
// A pure function over a head the HTTP/1.1 parser already accepted.

#include <string>
#include <string_view>

#include "dataplane/http/http_parser.h"
#include "dataplane/http2/http2_request.h"

namespace proxynode {

inline constexpr std::string_view kHttp2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class PrefaceMatch : uint8_t { kNo, kPartial, kYes };
// Whether `input`, where a request would start, is the client preface (kPartial: a prefix of
// it, so far).
PrefaceMatch MatchClientPreface(std::string_view input);

// The HTTP/1.1 request that asked for h2c: it is answered as stream 1.
struct Http2Upgrade {
  std::string head_block;  // as received
  std::string settings;    // the SETTINGS payload HTTP2-Settings carried (decoded)
  bool head_request = false;
};

// True when `head` asks for h2c and may have it: Upgrade names h2c, Connection names
// Upgrade, one HTTP2-Settings field holds a valid SETTINGS payload (base64url), and the
// request has no body. Fills `upgrade` then.
bool AcceptH2cUpgrade(const RequestHead& head, std::string_view head_block, Http2Upgrade* upgrade);

void AddHttp1HeadFields(std::string_view head_block, Http2RequestBuilder& builder);

}  // namespace proxynode
