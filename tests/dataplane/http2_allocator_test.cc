// The worker's allocator for libnghttp2 (dataplane/http2/http2_allocator.h): blocks come
// back and go out again, and a warm HTTP/2 exchange stops asking malloc for more.

#include "dataplane/http2/http2_allocator.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <string>
#include <vector>

namespace proxynode {
namespace {

TEST(Http2AllocatorTest, AFreedBlockIsHandedOutAgainForItsClass) {
  Http2Allocator allocator;
  void* first = allocator.Allocate(100);
  ASSERT_NE(first, nullptr);
  allocator.Free(first);
  EXPECT_EQ(allocator.free_blocks(), 1u);
  EXPECT_EQ(allocator.Allocate(120), first);  // the same 128-byte class
  EXPECT_EQ(allocator.system_allocations(), 1u);
  void* other_class = allocator.Allocate(1000);
  EXPECT_NE(other_class, first);
  EXPECT_EQ(allocator.system_allocations(), 2u);
  allocator.Free(first);
  allocator.Free(other_class);
}

TEST(Http2AllocatorTest, ListsOfLargeClassesKeepFewerBlocks) {
  Http2Allocator allocator;
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) {
    blocks.push_back(allocator.Allocate(32 * 1024));  // the largest class
  }
  for (void* block : blocks) {
    allocator.Free(block);
  }
  // 512 KiB of 32 KiB blocks: 16 kept, the rest back to the system.
  EXPECT_EQ(allocator.free_blocks(), Http2Allocator::kMaxFreeBytesPerClass / (32 * 1024));
}

TEST(Http2AllocatorTest, LargeBlocksAndFullListsGoBackToTheSystem) {
  Http2Allocator allocator(/*max_free_per_class=*/1);
  void* large = allocator.Allocate(64 * 1024);
  allocator.Free(large);
  EXPECT_EQ(allocator.free_blocks(), 0u);
  void* a = allocator.Allocate(64);
  void* b = allocator.Allocate(64);
  allocator.Free(a);
  allocator.Free(b);  // the list holds one
  EXPECT_EQ(allocator.free_blocks(), 1u);
}

TEST(Http2AllocatorTest, ReallocateKeepsTheBytesAndGrowsInPlaceWhenItFits) {
  Http2Allocator allocator;
  auto* text = static_cast<char*>(allocator.Allocate(10));
  std::memcpy(text, "0123456789", 10);
  EXPECT_EQ(allocator.Reallocate(text, 60), text);  // the 64-byte class holds it
  auto* grown = static_cast<char*>(allocator.Reallocate(text, 5000));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(std::string(grown, 10), "0123456789");
  allocator.Free(grown);
  void* zeroed = allocator.mem()->calloc(4, 8, allocator.mem()->mem_user_data);
  EXPECT_EQ(std::string(static_cast<char*>(zeroed), 32), std::string(32, '\0'));
  allocator.mem()->free(zeroed, allocator.mem()->mem_user_data);
}

// A client and a server session in memory, both on one allocator, answering requests.
class Exchange {
 public:
  explicit Exchange(Http2Allocator& allocator) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, OnServerFrame);
    nghttp2_session_server_new3(&server_, callbacks, this, nullptr, allocator.mem());
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, OnClientClose);
    nghttp2_session_client_new3(&client_, callbacks, this, nullptr, allocator.mem());
    nghttp2_session_callbacks_del(callbacks);
    // As the node's sessions say: nghttp2 keeps closed streams up to the concurrency limit
    // (for RFC 7540 priorities), then reuses their memory.
    const nghttp2_settings_entry server_settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 128}};
    nghttp2_submit_settings(server_, NGHTTP2_FLAG_NONE, server_settings,
                            std::size(server_settings));
    const nghttp2_settings_entry client_settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                                      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 0}};
    nghttp2_submit_settings(client_, NGHTTP2_FLAG_NONE, client_settings,
                            std::size(client_settings));
  }
  ~Exchange() {
    nghttp2_session_del(client_);
    nghttp2_session_del(server_);
  }

  // One GET answered 200; true when its stream closed.
  bool RoundTrip() {
    const nghttp2_nv request[] = {Nv(":method", "GET"), Nv(":scheme", "http"),
                                  Nv(":authority", "test"), Nv(":path", "/svc/Method"),
                                  Nv("x-request-id", "0123456789abcdef")};
    closed_ = false;
    if (nghttp2_submit_request(client_, nullptr, request, std::size(request), nullptr, nullptr) <=
        0) {
      return false;
    }
    for (int turn = 0; turn < 10 && !closed_; ++turn) {
      Pump(client_, server_);
      Pump(server_, client_);
    }
    return closed_;
  }

 private:
  static nghttp2_nv Nv(const char* name, const char* value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value)), std::strlen(name),
                      std::strlen(value), NGHTTP2_NV_FLAG_NONE};
  }
  static void Pump(nghttp2_session* from, nghttp2_session* to) {
    const uint8_t* data = nullptr;
    ssize_t length;
    while ((length = nghttp2_session_mem_send(from, &data)) > 0) {
      nghttp2_session_mem_recv(to, data, static_cast<size_t>(length));
    }
  }
  static int OnServerFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      const nghttp2_nv response[] = {Nv(":status", "200"), Nv("content-type", "text/plain")};
      nghttp2_submit_response(session, frame->hd.stream_id, response, std::size(response), nullptr);
    }
    static_cast<void>(user);
    return 0;
  }
  static int OnClientClose(nghttp2_session*, int32_t, uint32_t, void* user) {
    static_cast<Exchange*>(user)->closed_ = true;
    return 0;
  }

  nghttp2_session* server_ = nullptr;
  nghttp2_session* client_ = nullptr;
  bool closed_ = false;
};

TEST(Http2AllocatorTest, AWarmConnectionStopsAskingTheSystemForMemory) {
  Http2Allocator allocator;
  Exchange exchange(allocator);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(exchange.RoundTrip()) << i;  // warm: the lists and nghttp2's closed streams fill
  }
  const uint64_t warm = allocator.system_allocations();
  EXPECT_GT(warm, 0u) << "nghttp2 allocates through the hooks";
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(exchange.RoundTrip()) << i;
  }
  EXPECT_EQ(allocator.system_allocations(), warm) << "a request's stream came from malloc";
}

}  // namespace
}  // namespace proxynode
