#include "controlplane/tcp_proxy_translator.h"

#include "controlplane/config_translator.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace proxynode {
namespace {

v1::TcpProxy Parse(const std::string& text) {
  v1::TcpProxy proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return proto;
}

TEST(TcpProxyTranslatorTest, ReadsToxiproxyUnitsAndDefaults) {
  absl::StatusOr<TcpProxyConfig> proxy = TcpProxyFromProto("tcp_proxies[db]", Parse(R"pb(
                                                             name: "db"
                                                             listen: "127.0.0.1:0"
                                                             upstream: "db:5432"
                                                             toxics {
                                                               latency {
                                                                 latency { nanos: 50000000 }
                                                                 jitter { nanos: 5000000 }
                                                               }
                                                             }
                                                             toxics {
                                                               name: "narrow"
                                                               stream: UPSTREAM
                                                               toxicity: 0.5
                                                               bandwidth { rate: 100 shared: true }
                                                             }
                                                             toxics {
                                                               slicer {
                                                                 average_size: 10
                                                                 size_variation: 2
                                                                 delay { nanos: 1000 }
                                                               }
                                                             }
                                                           )pb"));
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_TRUE(proxy->enabled);
  EXPECT_EQ(proxy->connect_timeout, 5 * kSecond);
  ASSERT_EQ(proxy->toxics.size(), 3u);
  EXPECT_EQ(proxy->toxics[0].name, "latency_downstream");  // Toxiproxy's default name
  EXPECT_EQ(proxy->toxics[0].toxicity, 1.0);
  EXPECT_EQ(proxy->toxics[0].latency, 50 * kMillisecond);
  EXPECT_EQ(proxy->toxics[0].jitter, 5 * kMillisecond);
  EXPECT_EQ(proxy->toxics[1].stream, ToxicStream::kUpstream);
  EXPECT_EQ(proxy->toxics[1].rate, 100'000u);  // KB/s to bytes/s
  EXPECT_TRUE(proxy->toxics[1].shared);
  EXPECT_EQ(proxy->toxics[1].toxicity, 0.5);
  EXPECT_EQ(proxy->toxics[2].type, ToxicType::kSlicer);
  EXPECT_EQ(proxy->toxics[2].delay, kMicrosecond);
}

TEST(TcpProxyTranslatorTest, RoundTripsEveryType) {
  const v1::TcpProxy proto = Parse(R"pb(
    name: "all"
    listen: "127.0.0.1:7000"
    upstream: "127.0.0.1:6379"
    enabled: false
    connect_timeout { seconds: 1 }
    toxics {
      name: "l"
      stream: DOWNSTREAM
      toxicity: 1
      latency { distribution { fixed { seconds: 1 } } }
    }
    toxics {
      name: "b"
      stream: DOWNSTREAM
      toxicity: 1
      bandwidth { rate: 7 shared: false }
    }
    toxics {
      name: "sc"
      stream: DOWNSTREAM
      toxicity: 1
      slow_close { delay { seconds: 2 } }
    }
    toxics {
      name: "t"
      stream: UPSTREAM
      toxicity: 0
      timeout { timeout { seconds: 3 } }
    }
    toxics {
      name: "r"
      stream: DOWNSTREAM
      toxicity: 1
      reset_peer { timeout {} }
    }
    toxics {
      name: "s"
      stream: DOWNSTREAM
      toxicity: 1
      slicer {
        average_size: 5
        size_variation: 1
        delay {}
      }
    }
    toxics {
      name: "d"
      stream: DOWNSTREAM
      toxicity: 1
      limit_data { bytes: 9 }
    }
    toxics {
      name: "x"
      stream: DOWNSTREAM
      toxicity: 0.25
      down {}
    }
  )pb");
  absl::StatusOr<TcpProxyConfig> proxy = TcpProxyFromProto("tcp_proxies[all]", proto);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_TRUE(ValidateTcpProxies({*proxy}).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ToProto(*proxy), proto))
      << ToProto(*proxy).DebugString();
}

TEST(TcpProxyTranslatorTest, RefusesATypelessToxicNamingIt) {
  absl::StatusOr<TcpProxyConfig> proxy =
      TcpProxyFromProto("tcp_proxies[p]", Parse(R"pb(name: "p"
                                                     toxics { name: "what" })pb"));
  ASSERT_FALSE(proxy.ok());
  EXPECT_EQ(proxy.status().message(),
            "tcp_proxies[p].toxics[0]: no type (latency, bandwidth, slow_close, timeout, "
            "reset_peer, slicer, limit_data, down)");
}

TEST(TcpProxyTranslatorTest, TheMaskPathReplacesTheWholeList) {
  NodeConfig base;
  v1::NodeConfig update;
  update.add_tcp_proxies()->CopyFrom(Parse(R"pb(name: "p"
                                                listen: "127.0.0.1:0"
                                                upstream: "127.0.0.1:1")pb"));
  google::protobuf::FieldMask mask;
  mask.add_paths("tcp_proxies");
  absl::StatusOr<NodeConfig> config = ApplyFieldMask(base, update, mask);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->tcp_proxies.size(), 1u);
  absl::StatusOr<NodeConfig> cleared = ApplyFieldMask(*config, v1::NodeConfig(), mask);
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->tcp_proxies.empty());
}

}  // namespace
}  // namespace proxynode
