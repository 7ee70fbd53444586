#include "dataplane/http2/http2_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace proxynode {
namespace {

Http2Allocator& AllocatorOf(void* user_data) { return *static_cast<Http2Allocator*>(user_data); }

void* Malloc(size_t size, void* user_data) { return AllocatorOf(user_data).Allocate(size); }

void Free(void* pointer, void* user_data) { AllocatorOf(user_data).Free(pointer); }

void* Calloc(size_t count, size_t size, void* user_data) {
  if (size != 0 && count > SIZE_MAX / size) {
    return nullptr;
  }
  void* pointer = AllocatorOf(user_data).Allocate(count * size);
  if (pointer != nullptr) {
    std::memset(pointer, 0, count * size);
  }
  return pointer;
}

void* Realloc(void* pointer, size_t size, void* user_data) {
  return AllocatorOf(user_data).Reallocate(pointer, size);
}

// The class holding `size` bytes; kClasses when none does.
size_t ClassOf(size_t size) {
  size_t capacity = Http2Allocator::kSmallestClass;
  for (size_t index = 0; index < Http2Allocator::kClasses; ++index, capacity *= 2) {
    if (size <= capacity) {
      return index;
    }
  }
  return Http2Allocator::kClasses;
}

}  // namespace

Http2Allocator::Http2Allocator(size_t max_free_per_class)
    : mem_{this, proxynode::Malloc, proxynode::Free, proxynode::Calloc, proxynode::Realloc} {
  for (size_t index = 0; index < kClasses; ++index) {
    const size_t capacity = kSmallestClass << index;
    max_free_[index] = std::min(max_free_per_class, kMaxFreeBytesPerClass / capacity);
    free_[index].reserve(max_free_[index]);  // a Free never allocates
  }
}

Http2Allocator::~Http2Allocator() {
  for (std::vector<Header*>& list : free_) {
    for (Header* header : list) {
      std::free(header);
    }
  }
}

size_t Http2Allocator::free_blocks() const {
  size_t count = 0;
  for (const std::vector<Header*>& list : free_) {
    count += list.size();
  }
  return count;
}

void* Http2Allocator::Allocate(size_t size) {
  const size_t size_class = ClassOf(size);
  if (size_class < kClasses && !free_[size_class].empty()) {
    Header* header = free_[size_class].back();
    free_[size_class].pop_back();
    return header + 1;
  }
  const size_t capacity = size_class < kClasses ? kSmallestClass << size_class : size;
  auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + capacity));
  if (header == nullptr) {
    return nullptr;
  }
  ++system_allocations_;
  header->size_class = size_class;
  header->capacity = capacity;
  return header + 1;
}

void Http2Allocator::Free(void* pointer) {
  if (pointer == nullptr) {
    return;
  }
  Header* header = static_cast<Header*>(pointer) - 1;
  if (header->size_class < kClasses &&
      free_[header->size_class].size() < max_free_[header->size_class]) {
    free_[header->size_class].push_back(header);
    return;
  }
  std::free(header);
}

void* Http2Allocator::Reallocate(void* pointer, size_t size) {
  if (pointer == nullptr) {
    return Allocate(size);
  }
  const Header* header = static_cast<Header*>(pointer) - 1;
  if (size <= header->capacity) {
    return pointer;  // it fits where it is
  }
  void* moved = Allocate(size);
  if (moved == nullptr) {
    return nullptr;  // realloc's contract: the old block stays
  }
  std::memcpy(moved, pointer, header->capacity);
  Free(pointer);
  return moved;
}

}  // namespace proxynode
