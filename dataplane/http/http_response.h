#pragma once

// Serializes HTTP/1.1 responses straight into a connection's output buffer, without
// intermediate strings: the common 200 costs one memcpy of the head and one of the body.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/core/buffer.h"

namespace proxynode {

struct ResponseHead {
  int status = 200;
  uint64_t content_length = 0;
  std::string_view content_type = "text/plain";
  bool close = false;                // adds "Connection: close"
  bool keep_alive_header = false;    // adds "Connection: keep-alive" (HTTP/1.0 clients)
  uint32_t retry_after_seconds = 0;  // adds "Retry-After" when non-zero
  // Fields written as given (a fault rule's abort headers); null: none.
  const std::vector<std::pair<std::string, std::string>>* extra_fields = nullptr;
  // Adds "x-proxynode-fault: <name>" when not empty: the rule that shaped this response.
  std::string_view fault_rule;
};

std::string_view ReasonPhrase(int status);

// Appends the head and, unless `head_only` (HEAD requests), the body.
void AppendResponse(Buffer& out, BufferPool& pool, const ResponseHead& head,
                    std::string_view date_header, std::string_view body, bool head_only);

// "Date: <IMF-fixdate>\r\n", rebuilt at most once per second per worker.
class DateHeaderCache {
 public:
  std::string_view Get(int64_t unix_seconds);

 private:
  int64_t cached_second_ = -1;
  std::string header_;
};

}  // namespace proxynode
