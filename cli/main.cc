// proxyctl: the command-line client of proxynode's control API (see docs/proxyctl.md).

#include <cstdio>
#include <exception>

#include "cli/app.h"

int main(int argc, char** argv) {
  // Nothing is meant to throw past RunMain (CLI11's parse errors are caught there); this is
  // the last guard so an unexpected exception is a message and exit code 1, not an abort.
  try {
    return proxyctl::RunMain(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxyctl: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "proxyctl: internal error\n");
  }
  return 1;
}
