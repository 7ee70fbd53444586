#pragma once

// `top`'s screen: one node at a glance within 80 columns and 24 lines. A header (state,
// connections, rates, status classes, bytes), request latency and timer lateness over the
// last interval beside the figures since start, the workers, then the busiest upstreams,
// routes and fault rules in one table, sorted by the chosen key and cut to the lines left.

#include <cstddef>
#include <string>

#include "proxynode/v1/control.pb.h"

namespace proxyctl {

enum class TopSort { kRequests, kErrors, kP99, kName };

// "requests", "errors", "p99", "name".
const char* TopSortName(TopSort sort);
// The next key in that order (the key that changes it cycles through them).
TopSort NextTopSort(TopSort sort);

struct TopViewOptions {
  std::string address;
  std::string clock;     // "12:35:53", the node's time of the message
  std::string interval;  // "1s"
  TopSort sort = TopSort::kRequests;
  size_t width = 80;
  size_t height = 24;
  bool keys = false;  // the keys line: only when they can be pressed (a terminal)
};

// The screen for `now`; `before` (may be null) gives the rates. Never more than
// options.height lines, none wider than options.width.
std::string RenderTop(const proxynode::v1::Stats& now, const proxynode::v1::Stats* before,
                      const TopViewOptions& options);

}  // namespace proxyctl
