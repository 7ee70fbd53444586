// The Toxiproxy-compatible API (issue 19) against the real binary, used as a Toxiproxy
// client's user would use it: create, populate, add, update and remove toxics, reset, with
// Toxiproxy's status codes and bodies; every change in the config history as the API's own
// source; keep-alive, several clients, and a malformed request that leaves the server
// serving. (No bytes are relayed here: that is the data plane's to test.)

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/control_client.h"
#include "tests/testing/http_client.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Request(std::string_view method, std::string_view path, std::string_view body = "") {
  return absl::StrCat(std::string(method), " ", std::string(path),
                      " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n",
                      "Content-Length: ", body.size(), "\r\n\r\n", std::string(body));
}

// The port in the start-up record's "toxiproxy":"127.0.0.1:PORT"; 0 when the API is off.
uint16_t ToxiproxyPort(const std::string& banner) {
  const std::string key = "\"toxiproxy\":\"";
  const size_t start = banner.find(key);
  if (start == std::string::npos) {
    return 0;
  }
  const size_t end = banner.find('"', start + key.size());
  const std::string address = banner.substr(start + key.size(), end - start - key.size());
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? 0
                                    : static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
}

class ToxiproxyApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start({"--workers=1", "--toxiproxy_listen=127.0.0.1:0"}));
    port_ = ToxiproxyPort(node_.banner());
    ASSERT_NE(port_, 0) << node_.banner();
    client_ = ConnectTo(port_);
  }

  // One request on the test's keep-alive connection.
  HttpResponse Call(std::string_view method, std::string_view path, std::string_view body = "") {
    std::optional<HttpResponse> response = client_.RoundTrip(Request(method, path, body));
    EXPECT_TRUE(response.has_value()) << method << " " << path << ": " << client_.error();
    return response.value_or(HttpResponse{});
  }

  void CreateRedisProxy() {
    const HttpResponse created =
        Call("POST", "/proxies",
             R"({"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379"})");
    ASSERT_EQ(created.status, 201) << created.body;
  }

  NodeProcess node_;
  uint16_t port_ = 0;
  HttpClient client_;
};

TEST_F(ToxiproxyApiTest, ProxyLifecycleAsToxiproxyAnswersIt) {
  EXPECT_EQ(Call("GET", "/proxies").body, "{}");
  const HttpResponse created = Call(
      "POST", "/proxies", R"({"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:6379"})");
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(created.Header("Content-Type"), "application/json");
  EXPECT_THAT(created.body, StartsWith(R"({"name":"redis","listen":"127.0.0.1:)"));
  EXPECT_THAT(created.body,
              HasSubstr(R"("upstream":"127.0.0.1:6379","enabled":true,"toxics":[]})"));

  const HttpResponse duplicate = Call(
      "POST", "/proxies", R"({"name":"redis","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"})");
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(duplicate.body, "{\"error\":\"proxy already exists\",\"status\":409}\n");
  EXPECT_EQ(Call("POST", "/proxies", R"({"name":"x"})").body,
            "{\"error\":\"missing required field: upstream\",\"status\":400}\n");

  const HttpResponse disabled = Call("POST", "/proxies/redis", R"({"enabled":false})");
  EXPECT_EQ(disabled.status, 200);
  EXPECT_THAT(disabled.body, HasSubstr(R"("enabled":false)"));
  EXPECT_THAT(Call("GET", "/proxies").body, HasSubstr(R"({"redis":{"name":"redis",)"));

  EXPECT_EQ(Call("DELETE", "/proxies/redis").status, 204);
  const HttpResponse gone = Call("GET", "/proxies/redis");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "{\"error\":\"proxy not found\",\"status\":404}\n");
  EXPECT_EQ(Call("DELETE", "/proxies/redis").status, 404);
}

TEST_F(ToxiproxyApiTest, ToxicLifecycleAsToxiproxyAnswersIt) {
  CreateRedisProxy();
  const HttpResponse added = Call("POST", "/proxies/redis/toxics",
                                  R"({"type":"latency","attributes":{"latency":100,"jitter":5}})");
  EXPECT_EQ(added.status, 200);
  EXPECT_EQ(added.body, R"({"name":"latency_downstream","type":"latency","stream":"downstream",)"
                        R"("toxicity":1,"attributes":{"latency":100,"jitter":5}})");
  EXPECT_EQ(Call("POST", "/proxies/redis/toxics", R"({"type":"latency"})").body,
            "{\"error\":\"toxic already exists\",\"status\":409}\n");
  EXPECT_EQ(Call("POST", "/proxies/redis/toxics", R"({"type":"gremlin"})").body,
            "{\"error\":\"invalid toxic type\",\"status\":400}\n");
  // A value the config refuses is a 400 carrying the config's own message.
  const HttpResponse refused =
      Call("POST", "/proxies/redis/toxics",
           R"({"type":"slicer","attributes":{"average_size":10,"size_variation":10}})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("size_variation"));

  const HttpResponse updated = Call("POST", "/proxies/redis/toxics/latency_downstream",
                                    R"({"attributes":{"latency":250},"toxicity":0.5})");
  EXPECT_EQ(updated.status, 200);
  EXPECT_THAT(updated.body, HasSubstr(R"("toxicity":0.5,"attributes":{"latency":250,"jitter":5})"));
  EXPECT_EQ(Call("GET", "/proxies/redis/toxics/latency_downstream").body, updated.body);
  EXPECT_EQ(Call("GET", "/proxies/redis/toxics").body, absl::StrCat("[", updated.body, "]"));

  EXPECT_EQ(Call("DELETE", "/proxies/redis/toxics/latency_downstream").status, 204);
  EXPECT_EQ(Call("GET", "/proxies/redis/toxics/latency_downstream").body,
            "{\"error\":\"toxic not found\",\"status\":404}\n");
  EXPECT_EQ(Call("GET", "/proxies/redis/toxics").body, "[]");
  EXPECT_EQ(Call("GET", "/proxies/nope/toxics").status, 404);
}

TEST_F(ToxiproxyApiTest, ResetRemovesToxicsAndEnablesButKeepsProxies) {
  CreateRedisProxy();
  ASSERT_EQ(Call("POST", "/proxies/redis/toxics", R"({"type":"timeout"})").status, 200);
  ASSERT_EQ(Call("POST", "/proxies/redis", R"({"enabled":false})").status, 200);
  EXPECT_EQ(Call("POST", "/reset").status, 204);
  const HttpResponse after = Call("GET", "/proxies/redis");
  EXPECT_EQ(after.status, 200);
  EXPECT_THAT(after.body, HasSubstr(R"("enabled":true,"toxics":[]})"));
}

TEST_F(ToxiproxyApiTest, PopulateIsAllOrNone) {
  const HttpResponse populated =
      Call("POST", "/populate",
           R"([{"name":"a","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"},)"
           R"({"name":"b","listen":"127.0.0.1:0","upstream":"127.0.0.1:2","enabled":false}])");
  EXPECT_EQ(populated.status, 201);
  EXPECT_THAT(populated.body, StartsWith(R"({"proxies":[{"name":"a",)"));
  EXPECT_THAT(populated.body, HasSubstr(R"("upstream":"127.0.0.1:2","enabled":false)"));

  const HttpResponse missing =
      Call("POST", "/populate", R"([{"name":"c","upstream":"127.0.0.1:3"},{"name":"d"}])");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(
      missing.body,
      R"({"error":"missing required field: upstream at proxy 2","status":400,"proxies":null})");
  // Refused by the config's validation: nothing of it is applied either.
  const HttpResponse invalid =
      Call("POST", "/populate",
           R"([{"name":"c","upstream":"127.0.0.1:3"},{"name":"d","upstream":"no port"}])");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(Call("GET", "/proxies/c").status, 404);
}

TEST_F(ToxiproxyApiTest, ChangesAreInTheHistoryAndTheAuditLog) {
  CreateRedisProxy();
  ControlClient control(node_.control_port());
  v1::GetConfigHistoryResponse history;
  grpc::Status status = control.stub().GetConfigHistory(control.NewContext().get(),
                                                        v1::GetConfigHistoryRequest(), &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(history.entries_size(), 2);
  const v1::ConfigHistoryEntry& last = history.entries(history.entries_size() - 1);
  EXPECT_EQ(last.source(), v1::ConfigHistoryEntry::TOXIPROXY_API);
  EXPECT_THAT(last.origin(), StartsWith("127.0.0.1:"));
  ASSERT_GE(last.diff_size(), 1);
  EXPECT_THAT(last.diff(0).field(), HasSubstr("tcp_proxies[redis]"));
  EXPECT_TRUE(node_.WaitForOutput(R"("source":"toxiproxy_api")", std::chrono::seconds(5)));

  // A proxy created over gRPC is the same config: the API shows it.
  v1::NodeConfig config;
  ASSERT_TRUE(control.GetConfig(&config).ok());
  v1::TcpProxy* db = config.add_tcp_proxies();
  db->set_name("db");
  db->set_listen("127.0.0.1:0");
  db->set_upstream("127.0.0.1:5432");
  ASSERT_TRUE(control.Update(config, {"tcp_proxies"}).ok());
  EXPECT_EQ(Call("GET", "/proxies/db").status, 200);
}

TEST_F(ToxiproxyApiTest, KeepAlivePipeliningAndSeveralClients) {
  HttpClient second = ConnectTo(port_);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Call("GET", "/version").status, 200);
    std::optional<HttpResponse> other = second.RoundTrip(Request("GET", "/proxies"));
    ASSERT_TRUE(other.has_value()) << second.error();
    EXPECT_EQ(other->status, 200);
    EXPECT_FALSE(other->ConnectionClose());
  }
  // Two requests in one write: two answers, in order.
  ASSERT_TRUE(second.Send(Request("GET", "/nothing") + Request("GET", "/version")));
  std::optional<HttpResponse> first_answer = second.ReadResponse();
  std::optional<HttpResponse> second_answer = second.ReadResponse();
  ASSERT_TRUE(first_answer.has_value() && second_answer.has_value()) << second.error();
  EXPECT_EQ(first_answer->status, 404);
  EXPECT_EQ(first_answer->body, "404 page not found\n");
  EXPECT_EQ(second_answer->status, 200);
  EXPECT_THAT(second_answer->body, StartsWith(R"({"version": "2.8.0")"));
  EXPECT_EQ(Call("PUT", "/proxies").status, 405);
}

TEST_F(ToxiproxyApiTest, RequestInPiecesAndExpectContinue) {
  const std::string body = R"({"name":"slow","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"})";
  const std::string request = Request("POST", "/proxies", body);
  const size_t split = request.find("\r\n\r\n") + 10;  // the head and a part of the body
  ASSERT_TRUE(client_.Send(request.substr(0, 7)));
  ASSERT_TRUE(client_.Send(request.substr(7, split - 7)));
  ASSERT_TRUE(client_.Send(request.substr(split)));
  std::optional<HttpResponse> created = client_.ReadResponse();
  ASSERT_TRUE(created.has_value()) << client_.error();
  EXPECT_EQ(created->status, 201) << created->body;

  // curl sends Expect: 100-continue with larger bodies and waits for the interim answer.
  const std::string expecting = absl::StrCat(
      "POST /proxies/slow/toxics HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n",
      "Content-Length: 17\r\n\r\n");
  ASSERT_TRUE(client_.Send(expecting));
  std::optional<HttpResponse> interim = client_.ReadResponse();
  ASSERT_TRUE(interim.has_value()) << client_.error();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client_.Send(R"({"type":"down"})"
                           "\n\n"));
  std::optional<HttpResponse> added = client_.ReadResponse();
  ASSERT_TRUE(added.has_value()) << client_.error();
  EXPECT_EQ(added->status, 200) << added->body;
  EXPECT_THAT(added->body, HasSubstr(R"("type":"down")"));
}

TEST_F(ToxiproxyApiTest, MalformedRequestGets400AndTheServerServesOn) {
  HttpClient bad = ConnectTo(port_);
  std::optional<HttpResponse> answer = bad.RoundTrip("NOT HTTP AT ALL\r\n\r\n");
  ASSERT_TRUE(answer.has_value()) << bad.error();
  EXPECT_EQ(answer->status, 400);
  EXPECT_TRUE(bad.IsClosedByPeer());
  EXPECT_EQ(Call("POST", "/proxies", "{not json").status, 400);
  EXPECT_EQ(Call("GET", "/version").status, 200);
}

TEST_F(ToxiproxyApiTest, NodeStopsCleanlyWithApiClientsConnected) {
  CreateRedisProxy();
  HttpClient idle = ConnectTo(port_);
  ASSERT_TRUE(node_.Signal(SIGTERM));
  std::optional<ExitStatus> exit = node_.WaitExit(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->ToString();
}

TEST(ToxiproxyApiOffTest, OffByDefault) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--workers=1"}));
  EXPECT_THAT(node.banner(), HasSubstr(R"("toxiproxy":"")"));
}

}  // namespace
}  // namespace proxynode::testing
