#pragma once

// What this binary was built from: the product version (the top CMakeLists.txt's project
// VERSION, its one place), the git commit and the build type, baked in by CMake
// (cmake/build_info.cmake). `proxynode --version`, `proxyctl version`, GetStats and the
// node's /metrics (proxynode_build_info) all show these.

#include <string>

namespace proxynode {

struct BuildInfo {
  const char* version;
  const char* commit;  // "unknown" outside a git checkout
  const char* build_type;
};

const BuildInfo& ThisBuild();

// "0.1.0 (commit 1a2b3c4d5e6f, RelWithDebInfo)": what --version prints after the name.
std::string BuildSummary();

}  // namespace proxynode
