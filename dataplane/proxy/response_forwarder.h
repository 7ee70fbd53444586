#pragma once

// Reframes one upstream response into the client's output: parses the bytes the upstream
// sent, writes the head the client gets (http/proxy_headers.h: ReframeForClient,
// AppendClientResponseHead) and the body in the client's framing, until the output holds a
// high watermark. A unit over buffers, with no socket: the exchange feeds it the upstream's
// bytes and reads more when it asks.
//
// Thread contract: one exchange's, loop thread only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/http/http_response.h"
#include "dataplane/http/http_response_parser.h"
#include "dataplane/http/proxy_headers.h"

namespace proxynode {

class ResponseForwarder {
 public:
  enum class Result : uint8_t {
    kNeedMore,   // every byte given was used: more must come from the upstream
    kFull,       // the output reached the high watermark: the client drains first
    kDone,       // the response ended (keep_alive() says whether the upstream can be reused)
    kMalformed,  // the upstream broke HTTP
  };

  ResponseForwarder(BufferPool& pool, DateHeaderCache& date) : pool_(pool), date_(date) {}
  ResponseForwarder(const ResponseForwarder&) = delete;
  ResponseForwarder& operator=(const ResponseForwarder&) = delete;

  // Prepares for the response to a new request.
  void Reset(bool request_was_head);
  // Clears the per-request state, keeping the scratch string's capacity (up to a bound).
  void Clear();

  // From now on the response goes into `out`, with `client`'s framing and Connection field.
  void Attach(Buffer& out);
  void set_client(const ClientSide& client) { client_ = client; }
  bool attached() const { return out_ != nullptr; }

  // Moves the response bytes in `in` (consuming them) into the output while it holds less
  // than `high_watermark`.
  Result Pump(Buffer& in, size_t high_watermark);
  // The upstream closed with nothing more to read: a close-delimited body ends here (kDone);
  // any other is cut (kMalformed).
  Result EndAtClose();

  // The upstream's response allows another request on its connection.
  bool keep_alive() const { return parser_.head().keep_alive; }
  int status() const { return status_; }
  // Some of the response reached the client's output: nothing else may be written there.
  bool head_forwarded() const { return head_forwarded_; }
  // The bytes of the response head as forwarded to the client (0 until it is).
  size_t head_bytes() const { return head_bytes_; }
  // The client connection closes after this response (its framing or the client asked).
  bool closes_connection() const { return close_after_; }

 private:
  void OnHead(std::string_view input, const ParseResult& result);
  void OnBody(std::string_view data);
  void OnEnd();

  BufferPool& pool_;
  DateHeaderCache& date_;
  HttpResponseParser parser_;
  Buffer* out_ = nullptr;
  ClientSide client_;
  std::string scratch_;  // the head and chunk framing, reused
  int status_ = 0;
  bool chunked_to_client_ = false;
  bool close_after_ = false;
  bool head_forwarded_ = false;
  size_t head_bytes_ = 0;
};

}  // namespace proxynode
