#include "common/bounded_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace proxynode {

std::optional<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                           std::string* text) {
  auto unreadable = [] { return "cannot read it (" + std::string(std::strerror(errno)) + ")"; };
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  if (file == nullptr) return unreadable();
  text->clear();
  char buffer[16 * 1024];
  while (size_t got = std::fread(buffer, 1, sizeof(buffer), file.get())) {
    text->append(buffer, got);
    if (text->size() > max_bytes) {
      return "larger than " + std::to_string(max_bytes >> 20) + " MiB";
    }
  }
  if (std::ferror(file.get())) return unreadable();
  return std::nullopt;
}

}  // namespace proxynode
