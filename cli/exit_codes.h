#pragma once

// proxyctl's exit codes, the same for every command. With --all, the largest code of any
// node is returned (unreachable outranks refused).

namespace proxyctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the node answered with an error
inline constexpr int kExitUsage = 2;        // bad command line or input file; nothing sent
inline constexpr int kExitUnreachable = 3;  // no answer: UNAVAILABLE, or no connection in time

}  // namespace proxyctl
