#pragma once

// Reads a small file whole, with a size cap, so a wrong path such as /dev/zero fails at once.
// Shared by the node's and proxyctl's TLS flags (certificate files are a few KiB).

#include <cstddef>
#include <optional>
#include <string>

namespace proxynode {

// Reads `path` into `text`. On failure returns what went wrong, worded to follow
// "FLAG PATH: ": "cannot read it (No such file or directory)" or "larger than 4 MiB".
std::optional<std::string> ReadBoundedFile(const std::string& path, size_t max_bytes,
                                           std::string* text);

}  // namespace proxynode
