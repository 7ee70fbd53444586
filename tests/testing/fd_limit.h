#pragma once

// Tests that hold thousands of connections size themselves to the descriptors they can get:
// the soft open-file limit raised to the hard one first (as scripts/test.sh does with
// `ulimit -n`).

#include <sys/resource.h>

#include <algorithm>
#include <cstddef>

namespace proxynode::testing {

// Raises this process's soft RLIMIT_NOFILE to the hard limit (when allowed); returns the soft
// limit in force afterwards.
inline size_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return static_cast<size_t>(limit.rlim_cur);
}

// How many connections this process can open with `reserve` descriptors kept back for
// everything else it opens, at most `wanted` (0 when the limit is below the reserve).
inline size_t ConnectionBudget(size_t wanted, size_t reserve) {
  const size_t soft = RaiseOpenFileLimit();
  return soft <= reserve ? 0 : std::min(wanted, soft - reserve);
}

}  // namespace proxynode::testing
