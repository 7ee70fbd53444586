#pragma once

// Fault rules for people, compact enough for a table cell (`proxyctl fault list`, and the
// line `fault add` prints): the match as "path=/api/ header:x-user=test", the faults as
// "delay lognormal p50=40ms p99=900ms, abort 503", the percentage as "25%", the time left
// as "9m58s". Values are written as `fault add` takes them, so a row reads like the command
// that made it.

#include <string>

#include "absl/time/time.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

// "route=/api/ method=GET,POST path=/api/ exact-path=/x header:x-user=test header:x-id=ab*
// header:x-flag client=10.0.0.0/8,::1 upstream=db:5432"; "any" when every request matches.
std::string FormatFaultMatch(const proxynode::v1::FaultMatch& match);

// "delay 250ms", "delay uniform 10ms-50ms on head", "delay normal mean=50ms stddev=10ms",
// "delay lognormal p50=40ms p99=900ms", "delay pareto scale=10ms shape=1.5 cap=2s",
// "delay empirical p50=20ms p99.9=2s".
std::string FormatDelayFault(const proxynode::v1::DelayFault& delay);

// "abort 503", "abort 503 with body and 2 headers", "abort reset", "abort reset after=1KiB",
// "abort close", "abort cut after=100", "abort silent".
std::string FormatAbortFault(const proxynode::v1::AbortFault& abort);

// Every fault of the rule, ", " between: delay, abort, "bandwidth 64KiB/s" (with
// " per connection" or " shared by the rule"), "header triggers (max 5s)", "tag".
std::string FormatFaults(const proxynode::v1::FaultRule& rule);

// "25%", "0.5%", "100%" (an unset percent is the node's 100).
std::string FormatPercent(const proxynode::v1::FaultRule& rule);

// Time left until the rule's expires_at, rounded down: "9m58s", "45s", "2h3m"; "-" when it
// has none; "expired" once `now` has passed it (the node removes it within moments).
std::string FormatTimeLeft(const proxynode::v1::FaultRule& rule, absl::Time now);

// One line for `fault add`: "match path=/api/; delay lognormal p50=40ms p99=900ms; 25%;
// 10m left".
std::string FormatFaultSummary(const proxynode::v1::FaultRule& rule, absl::Time now);

}  // namespace proxyctl
