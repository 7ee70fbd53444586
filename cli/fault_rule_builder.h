#pragma once

// `proxyctl fault add`'s flags, as typed, and the FaultRule they make. The flags are kept as
// text (an empty one was not given) so that every error names the flag and the value; the
// parts are parsed by fault_values.h and fault_delay_values.h. What only the command line
// can get wrong is checked here too: a flag that needs another (--delay-on without --delay,
// --abort-body without a status --abort), --for with --until, a rule with no fault.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxynode/v1/control.pb.h"

namespace proxyctl {

struct FaultAddOptions {
  std::string name;
  // Match: every condition given must hold.
  std::string route;                 // --route PREFIX
  std::vector<std::string> methods;  // --method GET[,POST...] (repeatable)
  std::string path;                  // --path PREFIX
  std::string exact_path;            // --exact-path PATH
  std::vector<std::string> headers;  // --header NAME | NAME=VALUE | NAME=PREFIX* (all hold)
  std::vector<std::string> clients;  // --client CIDR[,CIDR...] (any holds)
  std::string upstream;              // --upstream HOST:PORT
  // Faults.
  std::string delay;     // --delay (fault_delay_values.h)
  std::string delay_on;  // --delay-on request|head|first-byte
  std::string abort;     // --abort 503|reset|reset:after=N|close|cut|cut:after=N|silent
  std::string abort_body;
  std::vector<std::string> abort_headers;  // 'Name: value'
  std::string abort_grpc_status;           // 0-16 or a name: UNAVAILABLE
  std::string abort_grpc_message;
  std::string bandwidth;        // --bandwidth 64KiB[/s]
  std::string bandwidth_scope;  // response|connection|rule
  bool header_triggers = false;
  std::string trigger_max_delay;
  // How often, until when, and the rest.
  std::string percent;  // empty: the node's 100
  std::string for_duration;
  std::string until;
  bool tag = false;
  bool replace = false;
  uint64_t expected_version = 0;  // 0: the version read (and retried on a race)
};

// The rule, or INVALID_ARGUMENT with one line naming the flag. `now` judges --until.
absl::StatusOr<proxynode::v1::FaultRule> BuildFaultRule(const FaultAddOptions& options,
                                                        absl::Time now);

}  // namespace proxyctl
