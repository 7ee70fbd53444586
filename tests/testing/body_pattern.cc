#include "tests/testing/body_pattern.h"

#include <algorithm>
#include <string>

namespace proxynode::testing {
namespace {

constexpr int kPatternSpan = 89;
// PatternDigest generates the pattern a block at a time rather than byte by byte.
constexpr size_t kBlockBytes = 64 * 1024;

}  // namespace

char PatternByte(uint64_t offset) {
  // A printable byte; the second term shifts the 89-byte cycle every 8191 bytes.
  return static_cast<char>('!' + (offset % kPatternSpan + offset / 8191) % kPatternSpan);
}

void FillPattern(uint64_t offset, char* out, size_t size) {
  for (size_t i = 0; i < size; ++i) out[i] = PatternByte(offset + i);
}

void BodyDigest::Add(std::string_view bytes) {
  for (char c : bytes) {
    hash_ ^= static_cast<unsigned char>(c);
    hash_ *= 0x100000001b3ULL;
  }
  size_ += bytes.size();
}

std::ostream& operator<<(std::ostream& out, const BodyDigest& digest) {
  return out << digest.size() << " bytes, fnv1a " << std::hex << digest.hash() << std::dec;
}

BodyDigest PatternDigest(uint64_t size) {
  BodyDigest digest;
  std::string block(kBlockBytes, '\0');
  for (uint64_t offset = 0; offset < size;) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(block.size(), size - offset));
    FillPattern(offset, block.data(), piece);
    digest.Add(std::string_view(block.data(), piece));
    offset += piece;
  }
  return digest;
}

}  // namespace proxynode::testing
