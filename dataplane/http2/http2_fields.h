#pragma once

// Header fields as nghttp2 takes them when a request, a response or trailers are submitted:
// the HTTP/2 session's own answers, the responses it forwards, the calls it forwards.
//
// Thread contract: stateless.

#include <nghttp2/nghttp2.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/http2/field_list.h"

namespace proxynode {

inline nghttp2_nv Http2Field(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values when they are submitted, and takes lowercase names as
  // given (NO_COPY flags would make it keep pointers into the stream instead).
  return nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

// `fields` appended to `out` (cleared first; its capacity kept).
inline void FillHttp2Fields(const FieldList& fields, std::vector<nghttp2_nv>& out) {
  out.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    out.push_back(Http2Field(fields.name(i), fields.value(i)));
  }
}

// `value` in decimal, written into `text`.
template <size_t N>
std::string_view Http2Number(std::array<char, N>& text, uint64_t value) {
  const auto result = std::to_chars(text.data(), text.data() + text.size(), value);
  return {text.data(), static_cast<size_t>(result.ptr - text.data())};
}

}  // namespace proxynode
