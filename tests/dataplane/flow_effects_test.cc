#include "dataplane/relay/flow_effects.h"

#include "gtest/gtest.h"

namespace proxynode {
namespace {

class NoPacers : public SharedPacers {
 public:
  SharedBytePacer* Find(const TcpProxyConfig&, size_t index) override {
    found = index;
    return &pacer;
  }
  SharedBytePacer pacer{1000, 0};
  size_t found = 99;
};

ToxicConfig Toxic(ToxicType type, ToxicStream stream = ToxicStream::kDownstream) {
  ToxicConfig toxic;
  toxic.name = DefaultToxicName(type, stream);
  toxic.type = type;
  toxic.stream = stream;
  return toxic;
}

TEST(FlowEffectsTest, OnlyHitToxicsOfTheStreamCount) {
  TcpProxyConfig proxy;
  ToxicConfig latency = Toxic(ToxicType::kLatency);
  latency.latency = 10 * kMillisecond;
  ToxicConfig limit = Toxic(ToxicType::kLimitData, ToxicStream::kUpstream);
  limit.bytes = 100;
  ToxicConfig spared = Toxic(ToxicType::kTimeout);
  proxy.toxics = {latency, limit, spared};
  NoPacers pacers;
  const uint32_t hits = 0b011;  // the timeout's draw spared the connection
  const FlowEffects down = SummarizeEffects(proxy, hits, ToxicStream::kDownstream, pacers);
  EXPECT_EQ(down.latency_mask, 0b001u);
  EXPECT_EQ(down.limit_bytes, FlowEffects::kNoLimit);
  EXPECT_EQ(down.timeout, nullptr);
  EXPECT_TRUE(down.touches_data());
  const FlowEffects up = SummarizeEffects(proxy, hits, ToxicStream::kUpstream, pacers);
  EXPECT_EQ(up.latency_mask, 0u);
  EXPECT_EQ(up.limit_bytes, 100u);
  EXPECT_FALSE(SummarizeEffects(proxy, 0, ToxicStream::kDownstream, pacers).touches_data());
  ToxicConfig unlimited = Toxic(ToxicType::kBandwidth);  // rate 0
  proxy.toxics = {unlimited};
  EXPECT_FALSE(SummarizeEffects(proxy, 1, ToxicStream::kDownstream, pacers).touches_data());
}

TEST(FlowEffectsTest, ToxicsOfOneTypeCombine) {
  TcpProxyConfig proxy;
  ToxicConfig slow = Toxic(ToxicType::kBandwidth);
  slow.name = "slow";
  slow.rate = 5000;
  ToxicConfig slower = slow;
  slower.name = "slower";
  slower.rate = 2000;
  ToxicConfig shared = slow;
  shared.name = "shared";
  shared.shared = true;
  ToxicConfig close1 = Toxic(ToxicType::kSlowClose);
  close1.delay = kSecond;
  ToxicConfig close2 = close1;
  close2.name = "close2";
  close2.delay = 3 * kSecond;
  ToxicConfig down = Toxic(ToxicType::kDown, ToxicStream::kUpstream);
  proxy.toxics = {slow, slower, shared, close1, close2, down};
  NoPacers pacers;
  const FlowEffects effects = SummarizeEffects(proxy, 0b111111, ToxicStream::kDownstream, pacers);
  EXPECT_EQ(effects.rate, 2000u);  // the lowest rate holds
  EXPECT_EQ(effects.shared_pacer, &pacers.pacer);
  EXPECT_EQ(pacers.found, 2u);
  EXPECT_EQ(effects.slow_close, 3 * kSecond);
  EXPECT_TRUE(effects.down);  // whatever its stream
}

TEST(FlowEffectsTest, LatenciesAddUpAndJitterStaysInBounds) {
  TcpProxyConfig proxy;
  ToxicConfig a = Toxic(ToxicType::kLatency);
  a.latency = 100 * kMillisecond;
  a.jitter = 20 * kMillisecond;
  ToxicConfig b = a;
  b.name = "b";
  b.latency = 50 * kMillisecond;
  b.jitter = 0;
  proxy.toxics = {a, b};
  FaultRandom random(7);
  Nanos lowest = kSecond, highest = 0;
  for (int i = 0; i < 1000; ++i) {
    const Nanos delay = DrawChunkDelay(proxy, 0b11, random);
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  EXPECT_GE(lowest, 130 * kMillisecond);
  EXPECT_LE(highest, 170 * kMillisecond);
  EXPECT_LT(lowest, 135 * kMillisecond);  // the draws reach near both ends
  EXPECT_GT(highest, 165 * kMillisecond);
  EXPECT_EQ(DrawChunkDelay(proxy, 0b10, random), 50 * kMillisecond);
}

TEST(FlowEffectsTest, SliceSizesStayWithinTheirVariation) {
  ToxicConfig slicer = Toxic(ToxicType::kSlicer);
  slicer.average_size = 10;
  slicer.size_variation = 4;
  FaultRandom random(3);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t size = DrawSliceSize(slicer, random);
    EXPECT_GE(size, 6u);
    EXPECT_LE(size, 14u);
  }
}

TEST(ToxicConfigTest, ChecksNameTheProxyToxicAndAttribute) {
  std::vector<ToxicConfig> toxics = {Toxic(ToxicType::kBandwidth)};
  toxics[0].rate = 2'000'000'000'000;
  absl::Status status = ValidateToxics(toxics, "tcp_proxies[db]");
  EXPECT_EQ(status.message(),
            "tcp_proxies[db].toxics[bandwidth_downstream].rate: 2000000000 KB/s is out of range "
            "[0, 1000000000]");
  toxics[0].rate = 0;  // no limit, as in Toxiproxy
  EXPECT_TRUE(ValidateToxics(toxics, "p").ok());
  toxics[0].rate = 1000;
  EXPECT_TRUE(ValidateToxics(toxics, "p").ok());
  toxics.push_back(toxics[0]);
  EXPECT_NE(ValidateToxics(toxics, "p").message().find("the name is used twice"),
            std::string::npos);
  ToxicConfig slicer = Toxic(ToxicType::kSlicer);
  slicer.average_size = 10;
  slicer.size_variation = 10;
  EXPECT_NE(ValidateToxics({slicer}, "p").message().find("size_variation"), std::string::npos);
  ToxicConfig latency = Toxic(ToxicType::kLatency);
  latency.toxicity = -0.1;
  EXPECT_NE(ValidateToxics({latency}, "p").message().find("toxicity"), std::string::npos);
  EXPECT_EQ(ParseToxicType("reset_peer"), ToxicType::kResetPeer);
  EXPECT_EQ(ParseToxicType("nope"), std::nullopt);
}

TEST(TcpProxyConfigTest, ChecksAddressesAndUniqueness) {
  TcpProxyConfig a;
  a.name = "a";
  a.listen = "127.0.0.1:0";
  a.upstream = "db:5432";
  TcpProxyConfig b = a;
  b.name = "b";
  EXPECT_TRUE(ValidateTcpProxies({a, b}).ok());  // two port-0 listeners do not clash
  b.listen = "127.0.0.1:7000";
  TcpProxyConfig c = b;
  c.name = "c";
  EXPECT_EQ(ValidateTcpProxies({b, c}).message(),
            "tcp_proxies[c].listen: \"127.0.0.1:7000\" is another proxy's listen address");
  c.listen = "127.0.0.1:7001";
  c.upstream = "db:0";
  EXPECT_NE(ValidateTcpProxies({c}).message().find("tcp_proxies[c].upstream"), std::string::npos);
  c.name = "b";
  c.upstream = "db:1";
  EXPECT_NE(ValidateTcpProxies({b, c}).message().find("used twice"), std::string::npos);
}

}  // namespace
}  // namespace proxynode
