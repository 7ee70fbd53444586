// The list edits behind `proxyctl tcp` and `proxyctl toxic`: add (a taken name refused),
// find and remove (an unknown name refused with the names there are and a suggestion), and
// the same for a proxy's toxics.

#include "cli/tcp_list_edit.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxyctl {
namespace {

using proxynode::v1::TcpProxy;
using proxynode::v1::Toxic;
using ::testing::ElementsAre;

TcpProxy Proxy(const std::string& name) {
  TcpProxy proxy;
  proxy.set_name(name);
  proxy.set_listen("127.0.0.1:1" + std::to_string(name.size()));
  proxy.set_upstream("127.0.0.1:6379");
  return proxy;
}

Toxic NamedToxic(const std::string& name) {
  Toxic toxic;
  toxic.set_name(name);
  toxic.mutable_down();
  return toxic;
}

TcpProxies Three() {
  TcpProxies proxies;
  for (const char* name : {"redis", "postgres", "kafka"}) *proxies.Add() = Proxy(name);
  return proxies;
}

std::vector<std::string> Names(const TcpProxies& proxies) {
  std::vector<std::string> names;
  for (const TcpProxy& proxy : proxies) names.push_back(proxy.name());
  return names;
}

TEST(TcpListEditTest, AddAppendsAndRefusesATakenName) {
  TcpProxies proxies = Three();
  ASSERT_TRUE(AddTcpProxy(proxies, Proxy("mysql")).ok());
  EXPECT_THAT(Names(proxies), ElementsAre("redis", "postgres", "kafka", "mysql"));
  absl::Status taken = AddTcpProxy(proxies, Proxy("redis"));
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(),
            "a TCP proxy named \"redis\" exists; `tcp update` changes it, or remove it first");
  EXPECT_EQ(proxies.size(), 4);
}

TEST(TcpListEditTest, FindAndRemoveNameWhatThereIs) {
  TcpProxies proxies = Three();
  absl::StatusOr<TcpProxy*> found = FindTcpProxy(proxies, "postgres");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->name(), "postgres");
  absl::Status unknown = RemoveTcpProxy(proxies, "redsi");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(),
            "no TCP proxy named \"redsi\"; did you mean \"redis\"?; proxies: redis, postgres, "
            "kafka");
  EXPECT_EQ(proxies.size(), 3);
  ASSERT_TRUE(RemoveTcpProxy(proxies, "postgres").ok());
  EXPECT_THAT(Names(proxies), ElementsAre("redis", "kafka"));
  TcpProxies none;
  EXPECT_EQ(FindTcpProxy(none, "x").status().message(), "no TCP proxy named \"x\"; proxies: none");
  EXPECT_EQ(TcpProxyNames(none), "none");
}

TEST(TcpListEditTest, ToxicsByNameWithinTheirProxy) {
  TcpProxy proxy = Proxy("redis");
  ASSERT_TRUE(AddToxic(proxy, NamedToxic("latency_downstream")).ok());
  ASSERT_TRUE(AddToxic(proxy, NamedToxic("down_downstream")).ok());
  absl::Status taken = AddToxic(proxy, NamedToxic("latency_downstream"));
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(),
            "TCP proxy \"redis\" has a toxic named \"latency_downstream\"; -n gives another "
            "name, or `toxic update` changes it");
  absl::Status unknown = RemoveToxic(proxy, "latency_downstrem");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(),
            "TCP proxy \"redis\" has no toxic named \"latency_downstrem\"; did you mean "
            "\"latency_downstream\"?; toxics: latency_downstream, down_downstream");
  ASSERT_TRUE(FindToxic(proxy, "down_downstream").ok());
  ASSERT_TRUE(RemoveToxic(proxy, "latency_downstream").ok());
  ASSERT_EQ(proxy.toxics_size(), 1);
  EXPECT_EQ(proxy.toxics(0).name(), "down_downstream");
}

TEST(TcpListEditTest, UnsetEnabledIsEnabled) {
  TcpProxy proxy = Proxy("redis");
  EXPECT_TRUE(IsEnabled(proxy));
  proxy.set_enabled(false);
  EXPECT_FALSE(IsEnabled(proxy));
}

}  // namespace
}  // namespace proxyctl
