// Toxiproxy's JSON to the v1 config and back (toxiproxy_translation.h, toxiproxy_json.h):
// defaults, names and units of each toxic's attributes, the exact shapes answered, and the
// 400s Toxiproxy gives for bodies it cannot take.

#include "controlplane/toxiproxy_translation.h"

#include <string>

#include "controlplane/toxiproxy_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proxynode::toxiproxy {
namespace {

using ::testing::HasSubstr;

google::protobuf::Value Json(const std::string& text) {
  absl::StatusOr<google::protobuf::Value> value = ParseJson(text);
  EXPECT_TRUE(value.ok()) << value.status() << " in " << text;
  return value.ok() ? *value : google::protobuf::Value();
}

v1::Toxic NewToxic(const std::string& text) {
  absl::StatusOr<v1::Toxic> toxic = NewToxicFromJson(Json(text));
  EXPECT_TRUE(toxic.ok()) << toxic.status() << " in " << text;
  return toxic.ok() ? *toxic : v1::Toxic();
}

std::string NewToxicError(const std::string& text) {
  absl::StatusOr<v1::Toxic> toxic = NewToxicFromJson(Json(text));
  EXPECT_FALSE(toxic.ok()) << text;
  EXPECT_EQ(toxic.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(toxic.status().message());
}

int64_t Nanos(const google::protobuf::Duration& duration) {
  return duration.seconds() * 1'000'000'000 + duration.nanos();
}

TEST(ToxiproxyToxicTest, DefaultsAreToxiproxys) {
  const v1::Toxic toxic = NewToxic(R"({"type":"latency"})");
  EXPECT_EQ(toxic.name(), "latency_downstream");
  EXPECT_EQ(toxic.stream(), v1::Toxic::DOWNSTREAM);
  EXPECT_EQ(toxic.toxicity(), 1.0);
  EXPECT_EQ(ToxicJson(toxic),
            R"({"name":"latency_downstream","type":"latency","stream":"downstream",)"
            R"("toxicity":1,"attributes":{"latency":0,"jitter":0}})");
}

TEST(ToxiproxyToxicTest, StreamIsReadWithoutCaseAndNamesTheDefault) {
  const v1::Toxic toxic = NewToxic(R"({"type":"timeout","stream":"UPSTREAM"})");
  EXPECT_EQ(toxic.stream(), v1::Toxic::UPSTREAM);
  EXPECT_EQ(toxic.name(), "timeout_UPSTREAM");  // as Toxiproxy names it
  EXPECT_EQ(NewToxic(R"({"type":"timeout","name":"t1"})").name(), "t1");
}

TEST(ToxiproxyToxicTest, AttributesInToxiproxysUnits) {
  const v1::Toxic latency =
      NewToxic(R"({"type":"latency","attributes":{"latency":150,"jitter":20}})");
  EXPECT_EQ(Nanos(latency.latency().latency()), 150'000'000);
  EXPECT_EQ(Nanos(latency.latency().jitter()), 20'000'000);

  EXPECT_EQ(NewToxic(R"({"type":"bandwidth","attributes":{"rate":512}})").bandwidth().rate(), 512u);
  EXPECT_EQ(
      Nanos(NewToxic(R"({"type":"slow_close","attributes":{"delay":2500}})").slow_close().delay()),
      2'500'000'000);
  EXPECT_EQ(
      Nanos(NewToxic(R"({"type":"timeout","attributes":{"timeout":40}})").timeout().timeout()),
      40'000'000);
  EXPECT_EQ(
      Nanos(NewToxic(R"({"type":"reset_peer","attributes":{"timeout":7}})").reset_peer().timeout()),
      7'000'000);
  const v1::Toxic slicer = NewToxic(
      R"({"type":"slicer","attributes":{"average_size":64,"size_variation":16,"delay":250}})");
  EXPECT_EQ(slicer.slicer().average_size(), 64u);
  EXPECT_EQ(slicer.slicer().size_variation(), 16u);
  EXPECT_EQ(Nanos(slicer.slicer().delay()), 250'000);  // microseconds
  EXPECT_EQ(NewToxic(R"({"type":"limit_data","attributes":{"bytes":1000}})").limit_data().bytes(),
            1000u);
  EXPECT_TRUE(NewToxic(R"({"type":"down"})").has_down());
}

TEST(ToxiproxyToxicTest, EachTypeAnswersWithToxiproxysAttributes) {
  auto attributes = [](const std::string& text) {
    const std::string json = ToxicJson(NewToxic(text));
    return json.substr(json.find("\"attributes\":"));
  };
  EXPECT_EQ(attributes(R"({"type":"bandwidth","attributes":{"rate":100}})"),
            R"("attributes":{"rate":100}})");
  EXPECT_EQ(attributes(R"({"type":"bandwidth","attributes":{"rate":100,"shared":true}})"),
            R"("attributes":{"rate":100,"shared":true}})");
  EXPECT_EQ(attributes(R"({"type":"slow_close","attributes":{"delay":10}})"),
            R"("attributes":{"delay":10}})");
  EXPECT_EQ(attributes(R"({"type":"timeout","attributes":{"timeout":10}})"),
            R"("attributes":{"timeout":10}})");
  EXPECT_EQ(attributes(R"({"type":"reset_peer","attributes":{"timeout":10}})"),
            R"("attributes":{"timeout":10}})");
  EXPECT_EQ(
      attributes(
          R"({"type":"slicer","attributes":{"average_size":9,"size_variation":1,"delay":3}})"),
      R"("attributes":{"average_size":9,"size_variation":1,"delay":3}})");
  EXPECT_EQ(attributes(R"({"type":"limit_data","attributes":{"bytes":5}})"),
            R"("attributes":{"bytes":5}})");
  EXPECT_EQ(attributes(R"({"type":"down"})"), R"("attributes":{}})");
}

TEST(ToxiproxyToxicTest, ToxicityPrintsAsGoPrintsAFloat32) {
  EXPECT_THAT(ToxicJson(NewToxic(R"({"type":"latency","toxicity":0.3})")),
              HasSubstr(R"("toxicity":0.3,)"));
  EXPECT_EQ(Float32(0), "0");
  EXPECT_EQ(Float32(1), "1");
  EXPECT_EQ(Float32(0.1), "0.1");
  EXPECT_EQ(Float32(0.25), "0.25");
}

TEST(ToxiproxyToxicTest, RefusalsInToxiproxysWords) {
  EXPECT_EQ(NewToxicError(R"({"type":"nope"})"), "invalid toxic type");
  EXPECT_EQ(NewToxicError(R"({})"), "invalid toxic type");
  EXPECT_EQ(NewToxicError(R"({"type":"latency","stream":"sideways"})"),
            "stream was invalid, can be either upstream or downstream");
  // The stream is checked before the type, as Toxiproxy does.
  EXPECT_EQ(NewToxicError(R"({"type":"nope","stream":""})"),
            "stream was invalid, can be either upstream or downstream");
  EXPECT_THAT(NewToxicError(R"({"type":"latency","attributes":{"latency":1.5}})"),
              HasSubstr("bad request body: latency: 1.5 is not a whole number"));
  EXPECT_THAT(NewToxicError(R"({"type":"latency","attributes":{"latency":"5"}})"),
              HasSubstr("bad request body: latency: want a number, got a string"));
  EXPECT_THAT(NewToxicError(R"({"type":"limit_data","attributes":{"bytes":-1}})"),
              HasSubstr("bytes: -1 is negative"));
  EXPECT_THAT(NewToxicError(R"({"type":"latency","attributes":7})"),
              HasSubstr("attributes: want an object"));
  EXPECT_THAT(NewToxicError(R"({"type":7})"), HasSubstr("type: want a string, got a number"));
  EXPECT_THAT(NewToxicError(R"([1])"), HasSubstr("want an object, got an array"));
}

TEST(ToxiproxyToxicTest, UpdateKeepsWhatTheBodyLeavesOut) {
  v1::Toxic toxic = NewToxic(R"({"name":"lag","type":"latency","stream":"upstream","toxicity":0.5,)"
                             R"("attributes":{"latency":100,"jitter":10}})");
  ASSERT_TRUE(UpdateToxicFromJson(Json(R"({"attributes":{"latency":300}})"), toxic).ok());
  EXPECT_EQ(Nanos(toxic.latency().latency()), 300'000'000);
  EXPECT_EQ(Nanos(toxic.latency().jitter()), 10'000'000);
  EXPECT_EQ(toxic.toxicity(), 0.5);
  // Name, type and stream are not the update's to change.
  ASSERT_TRUE(
      UpdateToxicFromJson(
          Json(R"({"name":"x","type":"timeout","stream":"downstream","toxicity":0.9})"), toxic)
          .ok());
  EXPECT_EQ(toxic.name(), "lag");
  EXPECT_TRUE(toxic.has_latency());
  EXPECT_EQ(toxic.stream(), v1::Toxic::UPSTREAM);
  EXPECT_EQ(toxic.toxicity(), 0.9);
  EXPECT_FALSE(UpdateToxicFromJson(Json(R"({"toxicity":"high"})"), toxic).ok());
}

TEST(ToxiproxyProxyTest, CreateAndAnswer) {
  absl::StatusOr<v1::TcpProxy> proxy = NewProxyFromJson(
      Json(R"({"name":"redis","listen":"127.0.0.1:26379","upstream":"127.0.0.1:6379"})"), "");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_TRUE(proxy->enabled());
  EXPECT_EQ(ProxyJson(*proxy),
            R"({"name":"redis","listen":"127.0.0.1:26379","upstream":"127.0.0.1:6379",)"
            R"("enabled":true,"toxics":[]})");
  proxy = NewProxyFromJson(Json(R"({"name":"p","upstream":"h:1","enabled":false})"), "");
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_FALSE(proxy->enabled());
  EXPECT_EQ(proxy->listen(), "0.0.0.0:0");  // Go listens on every interface, a free port
}

TEST(ToxiproxyProxyTest, MissingFieldsNamedAsToxiproxyNamesThem) {
  auto error = [](const std::string& text, std::string_view where) {
    absl::StatusOr<v1::TcpProxy> proxy = NewProxyFromJson(Json(text), where);
    EXPECT_EQ(proxy.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(proxy.status().message());
  };
  EXPECT_EQ(error(R"({"upstream":"h:1"})", ""), "missing required field: name");
  EXPECT_EQ(error(R"({"name":"a"})", ""), "missing required field: upstream");
  EXPECT_EQ(error(R"({"name":"a"})", " at proxy 2"), "missing required field: upstream at proxy 2");
  EXPECT_THAT(error(R"({"name":"a","upstream":"h:1","enabled":"yes"})", ""),
              HasSubstr("enabled: want a boolean"));
}

TEST(ToxiproxyProxyTest, UpdateChangesWhatTheBodyNames) {
  v1::TcpProxy proxy;
  proxy.set_name("db");
  proxy.set_listen("127.0.0.1:5000");
  proxy.set_upstream("db:5432");
  ASSERT_TRUE(UpdateProxyFromJson(Json(R"({"enabled":false,"listen":":6000"})"), proxy).ok());
  EXPECT_FALSE(proxy.enabled());
  EXPECT_EQ(proxy.listen(), "0.0.0.0:6000");
  EXPECT_EQ(proxy.upstream(), "db:5432");
}

TEST(ToxiproxyProxyTest, ToxicsListedUpstreamFirstAsToxiproxyListsThem) {
  v1::TcpProxy proxy;
  *proxy.add_toxics() = NewToxic(R"({"type":"latency"})");
  *proxy.add_toxics() = NewToxic(R"({"type":"timeout","stream":"upstream"})");
  *proxy.add_toxics() = NewToxic(R"({"type":"slow_close"})");
  const std::string json = ToxicsJson(proxy.toxics());
  EXPECT_LT(json.find("timeout_upstream"), json.find("latency_downstream"));
  EXPECT_LT(json.find("latency_downstream"), json.find("slow_close_downstream"));
}

TEST(ToxiproxyJsonTest, BodiesAndStrings) {
  EXPECT_EQ(ParseJson("").status().message(), "bad request body: EOF");
  EXPECT_FALSE(ParseJson("{nonsense").ok());
  EXPECT_TRUE(ParseJson(R"([{"name":"a"}])").ok());
  EXPECT_EQ(Quoted("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(ErrorJson("proxy not found", 404), R"({"error":"proxy not found","status":404})");
}

}  // namespace
}  // namespace proxynode::toxiproxy
