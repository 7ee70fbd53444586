#include "dataplane/core/line_ring.h"

#include <algorithm>
#include <cstring>

namespace proxynode {
namespace {

size_t RoundUpToPowerOfTwo(size_t value) {
  size_t power = 1;
  while (power < value) power <<= 1;
  return power;
}

}  // namespace

LineRing::LineRing(size_t capacity)
    : data_(new char[RoundUpToPowerOfTwo(std::max<size_t>(capacity, 64))]),
      mask_(RoundUpToPowerOfTwo(std::max<size_t>(capacity, 64)) - 1) {}

bool LineRing::TryPut(std::string_view line) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  if (line.size() > capacity() - (head - tail)) {
    return false;
  }
  const size_t at = static_cast<size_t>(head) & mask_;
  const size_t first = std::min(line.size(), capacity() - at);
  std::memcpy(data_.get() + at, line.data(), first);
  std::memcpy(data_.get(), line.data() + first, line.size() - first);
  head_.store(head + line.size(), std::memory_order_release);
  return true;
}

LineRing::Piece LineRing::Take(size_t max_bytes) const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  size_t available = static_cast<size_t>(head - tail);
  if (available == 0) {
    return {};
  }
  // Cut at the last line end within max_bytes (or the first one, when a line is longer).
  size_t end = 0;
  for (size_t i = 0; i < available; ++i) {
    if (data_[(static_cast<size_t>(tail) + i) & mask_] == '\n') {
      if (i + 1 > max_bytes && end != 0) break;
      end = i + 1;
      if (end >= max_bytes) break;
    }
  }
  const size_t at = static_cast<size_t>(tail) & mask_;
  const size_t first = std::min(end, capacity() - at);
  return Piece{std::string_view(data_.get() + at, first),
               std::string_view(data_.get(), end - first)};
}

void LineRing::Commit(size_t bytes) {
  tail_.store(tail_.load(std::memory_order_relaxed) + bytes, std::memory_order_release);
}

}  // namespace proxynode
