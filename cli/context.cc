#include "cli/context.h"

#include "cli/units.h"

namespace proxyctl {

Outcome ParsePositiveDuration(const std::string& flag, const std::string& text,
                              std::chrono::milliseconds* out) {
  std::optional<int64_t> nanos = ParseDuration(text);
  if (!nanos || *nanos < 1'000'000) {
    return Outcome::Failure(kExitUsage,
                            flag + " " + text + ": must be a duration >= 1ms like 500ms or 3s");
  }
  *out = std::chrono::milliseconds(*nanos / 1'000'000);
  return Outcome{};
}

Outcome ResolveContext(const GlobalOptions& options, const Resolver& resolver, Context* context) {
  if (Outcome timeout = ParsePositiveDuration("--timeout", options.timeout, &context->timeout);
      !timeout.ok()) {
    return timeout;
  }
  context->json = options.output == "json";
  context->all = options.all;
  if (!options.all) {
    absl::StatusOr<std::vector<HostPort>> elements = SplitAddressList(options.addr);
    if (!elements.ok()) {
      return Outcome::Failure(kExitUsage, std::string(elements.status().message()));
    }
    if (elements->size() > 1) {
      return Outcome::Failure(kExitUsage, "--addr names " + std::to_string(elements->size()) +
                                              " nodes; pass --all to run the command on each");
    }
    context->addresses = {elements->front().ToString()};
    return Outcome{};
  }
  absl::StatusOr<std::vector<std::string>> expanded = ExpandAddressList(options.addr, resolver);
  if (!expanded.ok()) {
    bool usage = expanded.status().code() == absl::StatusCode::kInvalidArgument;
    return Outcome::Failure(usage ? kExitUsage : kExitUnreachable,
                            std::string(expanded.status().message()));
  }
  context->addresses = *std::move(expanded);
  return Outcome{};
}

}  // namespace proxyctl
