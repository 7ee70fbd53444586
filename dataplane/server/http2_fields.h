#pragma once

// Header fields as nghttp2 takes them when a response or trailers are submitted, for the
// HTTP/2 session's own answers and the responses it forwards.
//
// Thread contract: stateless.

#include <nghttp2/nghttp2.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>

namespace proxynode {

inline nghttp2_nv Http2Field(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values when they are submitted, and takes lowercase names as
  // given (NO_COPY flags would make it keep pointers into the stream instead).
  return nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                    const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

// `value` in decimal, written into `text`.
template <size_t N>
std::string_view Http2Number(std::array<char, N>& text, uint64_t value) {
  const auto result = std::to_chars(text.data(), text.data() + text.size(), value);
  return {text.data(), static_cast<size_t>(result.ptr - text.data())};
}

}  // namespace proxynode
