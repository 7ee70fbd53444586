#include "cli/toxic_format.h"

#include <vector>

#include "cli/fault_format.h"
#include "cli/printer.h"
#include "cli/toxic_values.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

using google::protobuf::Duration;
using proxynode::v1::Toxic;

std::string DurationText(const Duration& duration) {
  return FormatDuration(duration.seconds() * kNanosPerSecond + duration.nanos());
}

std::string Join(const std::vector<std::string>& words, const std::string& between) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += between;
    out += word;
  }
  return out;
}

}  // namespace

std::string FormatToxicAttributes(const Toxic& toxic) {
  std::vector<std::string> parts;
  switch (toxic.kind_case()) {
    case Toxic::kLatency: {
      const proxynode::v1::LatencyToxic& latency = toxic.latency();
      if (latency.has_distribution()) {
        proxynode::v1::DelayFault delay;
        *delay.mutable_distribution() = latency.distribution();
        std::string shown = FormatDelayFault(delay);  // "delay lognormal p50=..."
        parts.push_back("distribution=" + shown.substr(shown.find(' ') + 1));
      } else {
        parts.push_back("latency=" + DurationText(latency.latency()));
        parts.push_back("jitter=" + DurationText(latency.jitter()));
      }
      break;
    }
    case Toxic::kBandwidth:
      parts.push_back("rate=" + std::to_string(toxic.bandwidth().rate()) + "KB/s");
      if (toxic.bandwidth().shared()) parts.push_back("shared");
      break;
    case Toxic::kSlowClose:
      parts.push_back("delay=" + DurationText(toxic.slow_close().delay()));
      break;
    case Toxic::kTimeout:
      parts.push_back("timeout=" + DurationText(toxic.timeout().timeout()));
      break;
    case Toxic::kResetPeer:
      parts.push_back("timeout=" + DurationText(toxic.reset_peer().timeout()));
      break;
    case Toxic::kSlicer:
      parts.push_back("average_size=" + std::to_string(toxic.slicer().average_size()));
      parts.push_back("size_variation=" + std::to_string(toxic.slicer().size_variation()));
      parts.push_back("delay=" + DurationText(toxic.slicer().delay()));
      break;
    case Toxic::kLimitData:
      parts.push_back("bytes=" + std::to_string(toxic.limit_data().bytes()));
      break;
    case Toxic::kDown:
    case Toxic::KIND_NOT_SET:
      break;
  }
  return Join(parts, " ");
}

std::string FormatToxic(const Toxic& toxic) {
  std::string out = toxic.name() + ": " + ToxicTypeName(toxic) + " " + StreamName(toxic.stream());
  if (std::string attributes = FormatToxicAttributes(toxic); !attributes.empty()) {
    out += ' ';
    out += attributes;
  }
  if (toxic.has_toxicity() && toxic.toxicity() != 1) {
    out += " toxicity=";
    out += JsonNumber(toxic.toxicity());
  }
  return out;
}

}  // namespace proxyctl
