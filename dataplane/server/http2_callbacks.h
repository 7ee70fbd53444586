#pragma once

// The glue between libnghttp2's C callbacks and Http2Session (http2_session.h).
//
// Thread contract: the callbacks and options are built once and only read after; the
// callbacks run in the loop thread of the session they are called for.

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace proxynode {

// The callbacks every server session is created with (user_data: the Http2Session).
nghttp2_session_callbacks* ServerCallbacks();
// The options every server session is created with.
nghttp2_option* ServerOptions();
// A response body's data source (source->ptr: the Http2Stream).
ssize_t ReadResponseBody(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                         size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                         void* user_data);

}  // namespace proxynode
