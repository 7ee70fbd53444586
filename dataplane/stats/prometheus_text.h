#pragma once

// Pieces of the Prometheus text exposition format shared by the families rendered in
// separate files (prometheus.cc, tcp_proxy_metrics.cc).

#include <string>

namespace proxynode {

// The "# HELP" and "# TYPE" lines of a family.
void Header(std::string& out, const char* name, const char* type, const char* help);

// A label value as the exposition format wants it: backslash, double quote and newline
// escaped (names and addresses come from the config, so they may hold any of them).
std::string EscapeLabelValue(const std::string& value);

}  // namespace proxynode
