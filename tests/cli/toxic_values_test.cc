// The arguments of `proxyctl toxic add|update`: every type with Toxiproxy's attribute names
// and units (bare numbers in ms, µs for the slicer's delay, KB/s), durations with units,
// latency distributions, default names and streams, toxicity, and the one-line refusals
// naming the argument as typed, with suggestions for typos.

#include "cli/toxic_values.h"

#include <string>
#include <vector>

#include "cli/toxic_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::Toxic;
using ::testing::HasSubstr;

int64_t Nanos(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}

Toxic Build(const std::string& type, std::vector<std::string> attributes = {},
            bool upstream = false, std::string toxicity = "", std::string name = "") {
  ToxicSpec spec;
  spec.type = type;
  spec.attributes = std::move(attributes);
  spec.upstream = upstream;
  spec.toxicity = std::move(toxicity);
  spec.name = std::move(name);
  absl::StatusOr<Toxic> toxic = BuildToxic(spec);
  EXPECT_TRUE(toxic.ok()) << toxic.status();
  return toxic.ok() ? *toxic : Toxic();
}

std::string Error(const std::string& type, std::vector<std::string> attributes,
                  std::string toxicity = "") {
  ToxicSpec spec;
  spec.type = type;
  spec.attributes = std::move(attributes);
  spec.toxicity = std::move(toxicity);
  absl::StatusOr<Toxic> toxic = BuildToxic(spec);
  EXPECT_FALSE(toxic.ok());
  return toxic.ok() ? "" : std::string(toxic.status().message());
}

TEST(ToxicValuesTest, LatencyInToxiproxysMillisecondsOrWithUnits) {
  Toxic toxic = Build("latency", {"latency=1000", "jitter=50"});
  ASSERT_TRUE(toxic.has_latency());
  EXPECT_EQ(Nanos(toxic.latency().latency()), 1'000'000'000);
  EXPECT_EQ(Nanos(toxic.latency().jitter()), 50'000'000);
  EXPECT_EQ(toxic.name(), "latency_downstream");
  EXPECT_EQ(toxic.stream(), Toxic::DOWNSTREAM);
  EXPECT_FALSE(toxic.has_toxicity());  // the node's default: 1

  Toxic with_units = Build("latency", {"latency=250ms", "jitter=1.5s"});
  EXPECT_EQ(Nanos(with_units.latency().latency()), 250'000'000);
  EXPECT_EQ(Nanos(with_units.latency().jitter()), 1'500'000'000);
}

TEST(ToxicValuesTest, LatencyTakesTheFaultDelayDistributions) {
  Toxic toxic = Build("latency", {"distribution=lognormal:p50=40ms,p99=900ms"});
  ASSERT_TRUE(toxic.latency().has_distribution());
  EXPECT_TRUE(toxic.latency().distribution().has_lognormal());
  EXPECT_EQ(FormatToxicAttributes(toxic), "distribution=lognormal p50=40ms p99=900ms");
  // They replace each other: an update to one drops the other.
  ASSERT_TRUE(UpdateToxic(toxic, {"latency=100"}, "").ok());
  EXPECT_FALSE(toxic.latency().has_distribution());
  EXPECT_EQ(Nanos(toxic.latency().latency()), 100'000'000);
  ASSERT_TRUE(UpdateToxic(toxic, {"distribution=uniform:10ms-50ms"}, "").ok());
  EXPECT_TRUE(toxic.latency().distribution().has_uniform());
  EXPECT_FALSE(toxic.latency().has_latency());
  EXPECT_EQ(Error("latency", {"distribution=lognormal:p50=40ms"}),
            "-a distribution=lognormal:p50=40ms: lognormal needs p50=, p99=");
}

TEST(ToxicValuesTest, EveryTypeAndItsAttributes) {
  Toxic bandwidth = Build("bandwidth", {"rate=100", "shared=true"});
  EXPECT_EQ(bandwidth.bandwidth().rate(), 100u);
  EXPECT_TRUE(bandwidth.bandwidth().shared());
  EXPECT_EQ(Nanos(Build("slow_close", {"delay=2000"}).slow_close().delay()), 2'000'000'000);
  EXPECT_EQ(Nanos(Build("timeout", {"timeout=5000"}).timeout().timeout()), 5'000'000'000);
  EXPECT_EQ(Nanos(Build("reset_peer", {"timeout=10"}).reset_peer().timeout()), 10'000'000);
  Toxic slicer = Build("slicer", {"average_size=64", "size_variation=8", "delay=500"});
  EXPECT_EQ(slicer.slicer().average_size(), 64u);
  EXPECT_EQ(slicer.slicer().size_variation(), 8u);
  EXPECT_EQ(Nanos(slicer.slicer().delay()), 500'000);  // µs, as Toxiproxy's slicer
  EXPECT_EQ(Build("limit_data", {"bytes=16KiB"}).limit_data().bytes(), 16384u);
  EXPECT_TRUE(Build("down").has_down());
  // Left out: 0, Toxiproxy's default for every attribute.
  EXPECT_EQ(Nanos(Build("timeout").timeout().timeout()), 0);
}

TEST(ToxicValuesTest, CommasSeparateAttributesAsToxiproxyCliTakesThem) {
  EXPECT_THAT(SplitAttributes({"latency=1000,jitter=50", "rate=5"}),
              ::testing::ElementsAre("latency=1000", "jitter=50", "rate=5"));
  // A distribution's own commas are not followed by an attribute name.
  EXPECT_THAT(SplitAttributes({"distribution=lognormal:p50=5ms,p99=200ms,jitter=1"}),
              ::testing::ElementsAre("distribution=lognormal:p50=5ms,p99=200ms", "jitter=1"));
  Toxic toxic = Build("latency", {"latency=1000,jitter=50"});
  EXPECT_EQ(Nanos(toxic.latency().jitter()), 50'000'000);
  EXPECT_EQ(Error("latency", {"latency=1000,"}),
            "-a latency=1000,: latency must be a duration in ms like 1000, or with a unit like "
            "250ms or 1.5s");
}

TEST(ToxicValuesTest, StreamNameAndToxicity) {
  Toxic toxic = Build("bandwidth", {"rate=10"}, true, "0.25");
  EXPECT_EQ(toxic.stream(), Toxic::UPSTREAM);
  EXPECT_EQ(toxic.name(), "bandwidth_upstream");
  EXPECT_DOUBLE_EQ(toxic.toxicity(), 0.25);
  EXPECT_EQ(Build("down", {}, false, "0", "off").name(), "off");
  EXPECT_DOUBLE_EQ(Build("down", {}, false, "0").toxicity(), 0);
  EXPECT_EQ(DefaultToxicName("slow_close", Toxic::DOWNSTREAM), "slow_close_downstream");
}

TEST(ToxicValuesTest, WrongArgumentsAreNamedWithASuggestion) {
  EXPECT_EQ(Error("latncy", {}),
            "-t latncy: no such toxic type; did you mean \"latency\"?; types: latency, "
            "bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down");
  EXPECT_EQ(Error("latency", {"latncy=5"}),
            "-a latncy=5: a latency toxic has no attribute latncy; did you mean \"latency\"?; it "
            "takes latency, jitter, distribution");
  EXPECT_EQ(Error("latency", {"latency=abc"}),
            "-a latency=abc: latency must be a duration in ms like 1000, or with a unit like "
            "250ms or 1.5s");
  EXPECT_EQ(Error("latency", {"latency=-5"}),
            "-a latency=-5: latency must be a duration in ms like 1000, or with a unit like "
            "250ms or 1.5s");
  EXPECT_EQ(Error("latency", {"latency"}), "-a latency: must be KEY=VALUE, e.g. latency=1000");
  EXPECT_EQ(Error("bandwidth", {"rate=1.5"}), "-a rate=1.5: rate must be an integer >= 0");
  EXPECT_EQ(Error("bandwidth", {"rate=1", "shared=yes"}),
            "-a shared=yes: shared must be true or false");
  EXPECT_EQ(Error("bandwidth", {}), "a bandwidth toxic needs its rate in KB/s, e.g. -a rate=100");
  EXPECT_EQ(Error("down", {"x=1"}), "-a x=1: a down toxic takes no attributes");
  for (const char* toxicity : {"2", "-0.1", "half", "nan"}) {
    EXPECT_EQ(Error("down", {}, toxicity), std::string("--toxicity ") + toxicity +
                                               ": must be a probability from 0 to 1, like 0.5");
  }
}

TEST(ToxicValuesTest, UpdateKeepsWhatIsNotGiven) {
  Toxic toxic = Build("latency", {"latency=100", "jitter=10"}, false, "0.5");
  ASSERT_TRUE(UpdateToxic(toxic, {"latency=200"}, "").ok());
  EXPECT_EQ(Nanos(toxic.latency().latency()), 200'000'000);
  EXPECT_EQ(Nanos(toxic.latency().jitter()), 10'000'000);
  EXPECT_DOUBLE_EQ(toxic.toxicity(), 0.5);
  ASSERT_TRUE(UpdateToxic(toxic, {}, "1").ok());
  EXPECT_DOUBLE_EQ(toxic.toxicity(), 1);
  absl::Status wrong = UpdateToxic(toxic, {"rate=5"}, "");
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("a latency toxic has no attribute rate"));
}

TEST(ToxicValuesTest, AttributeNamesAreCheckedBeforeTheTypeIsKnown) {
  EXPECT_TRUE(CheckAttributeName("rate=5").ok());
  EXPECT_TRUE(CheckAttributeName("average_size=5").ok());
  EXPECT_EQ(CheckAttributeName("jiter=5").message(),
            "-a jiter=5: no toxic has an attribute jiter; did you mean \"jitter\"?; attributes: "
            "latency, jitter, distribution, rate, shared, delay, timeout, average_size, "
            "size_variation, bytes");
}

TEST(ToxicValuesTest, FormatsOneLinePerToxic) {
  EXPECT_EQ(FormatToxic(Build("latency", {"latency=250ms", "jitter=10"}, false, "0.5")),
            "latency_downstream: latency downstream latency=250ms jitter=10ms toxicity=0.5");
  EXPECT_EQ(FormatToxic(Build("bandwidth", {"rate=100", "shared=true"}, true)),
            "bandwidth_upstream: bandwidth upstream rate=100KB/s shared");
  EXPECT_EQ(FormatToxic(Build("slicer", {"average_size=64", "delay=500"})),
            "slicer_downstream: slicer downstream average_size=64 size_variation=0 delay=500us");
  EXPECT_EQ(FormatToxic(Build("down", {}, false, "1")), "down_downstream: down downstream");
}

}  // namespace
}  // namespace proxyctl
