// The HTTP/2 request as the node sees it (dataplane/http2/http2_request.h), and where
// HTTP/1.1 turns into HTTP/2 (dataplane/http2/h2c_upgrade.h).

#include "dataplane/http2/http2_request.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/grpc_status.h"
#include "dataplane/http2/grpc_message.h"
#include "dataplane/http2/h2c_upgrade.h"

namespace proxynode {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

int Build(Http2RequestBuilder& builder, const Fields& fields, ParserLimits limits = {}) {
  builder.Begin(limits);
  for (const auto& [name, value] : fields) {
    builder.Add(name, value);
  }
  return builder.Finish();
}

Fields Get(std::string path, Fields extra = {}) {
  Fields fields = {{":method", "GET"},
                   {":scheme", "http"},
                   {":authority", "example.test:8080"},
                   {":path", std::move(path)}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

TEST(Http2RequestBuilderTest, KeepsEveryFieldInOrderForForwarding) {
  Http2RequestBuilder builder;
  ASSERT_EQ(Build(builder, Get("/svc/Method", {{"content-type", "application/grpc"},
                                               {"te", "trailers"},
                                               {"x-md", "a"},
                                               {"x-md", "b"}})),
            0);
  const FieldList& fields = builder.fields();
  ASSERT_EQ(fields.size(), 8u);
  EXPECT_EQ(fields.name(0), ":method");
  EXPECT_EQ(fields.value(3), "/svc/Method");
  EXPECT_EQ(fields.name(5), "te");
  EXPECT_EQ(fields.value(6), "a");  // repeated fields stay apart, in order
  EXPECT_EQ(fields.value(7), "b");
  EXPECT_EQ(fields.Find("x-md"), "a");
  EXPECT_EQ(fields.Find("absent"), "");
  // The next request on a pooled stream starts from nothing.
  ASSERT_EQ(Build(builder, Get("/next")), 0);
  EXPECT_EQ(builder.fields().size(), 4u);
  EXPECT_EQ(builder.fields().value(3), "/next");
}

TEST(Http2RequestBuilderTest, FieldsOverTheLimitAreNotKept) {
  Http2RequestBuilder builder;
  EXPECT_EQ(Build(builder, Get("/", {{"x-big", std::string(200, 'x')}}),
                  ParserLimits{.max_header_bytes = 100}),
            431);
  EXPECT_EQ(builder.fields().size(), 4u);  // the pseudo-fields, then nothing past the limit
}

TEST(Http2RequestBuilderTest, PseudoFieldsBecomeTheHeadAndAnHttp1StyleBlock) {
  Http2RequestBuilder builder;
  ASSERT_EQ(Build(builder, Get("/api/items?x=1", {{"x-user", "test"}, {"accept", "*/*"}})), 0);
  const RequestHead& head = builder.head();
  EXPECT_EQ(head.method, HttpMethod::kGet);
  EXPECT_EQ(head.target, "/api/items?x=1");
  EXPECT_EQ(head.target_form, TargetForm::kOrigin);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(builder.head_block(),
            "GET /api/items?x=1 HTTP/2\r\nhost: example.test:8080\r\nx-user: test\r\n"
            "accept: */*\r\n\r\n");
  EXPECT_EQ(head.header_bytes, builder.head_block().size());
}

TEST(Http2RequestBuilderTest, ABuilderIsReusedWithoutKeepingTheLastRequest) {
  Http2RequestBuilder builder;
  ASSERT_EQ(Build(builder, Get("/first", {{"x-first", "1"}, {"content-length", "5"}})), 0);
  ASSERT_EQ(Build(builder, {{":method", "HEAD"}, {":scheme", "http"}, {":path", "/second"}}), 0);
  EXPECT_EQ(builder.head().method, HttpMethod::kHead);
  EXPECT_EQ(builder.head().content_length, 0u);
  EXPECT_EQ(builder.head_block(), "HEAD /second HTTP/2\r\n\r\n");
}

TEST(Http2RequestBuilderTest, AHostFieldStandsInForAMissingAuthority) {
  Http2RequestBuilder builder;
  ASSERT_EQ(
      Build(builder, {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.test"}}),
      0);
  EXPECT_EQ(builder.authority(), "h.test");
  EXPECT_EQ(builder.head_block(), "GET / HTTP/2\r\nhost: h.test\r\n\r\n");
}

TEST(Http2RequestBuilderTest, ContentLengthIsReadAndABadOneIs400) {
  Http2RequestBuilder builder;
  ASSERT_EQ(Build(builder, Get("/", {{"content-length", "4096"}})), 0);
  EXPECT_EQ(builder.head().content_length, 4096u);
  EXPECT_EQ(Build(builder, Get("/", {{"content-length", "12a"}})), 400);
}

TEST(Http2RequestBuilderTest, HeadsOverTheLimitsAre431) {
  Http2RequestBuilder builder;
  const ParserLimits limits{.max_header_bytes = 200, .max_header_count = 3};
  EXPECT_EQ(Build(builder, Get("/", {{"x-big", std::string(300, 'a')}}), limits), 431);
  EXPECT_EQ(Build(builder, Get("/", {{"a", "1"}, {"b", "2"}, {"c", "3"}}), limits), 0);
  EXPECT_EQ(Build(builder, Get("/", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}), limits),
            431);
}

TEST(Http2RequestBuilderTest, TargetsTheNodeCannotRouteAreRefused) {
  Http2RequestBuilder builder;
  EXPECT_EQ(Build(builder, {{":method", "CONNECT"}, {":authority", "db:5432"}}), 501);
  EXPECT_EQ(Build(builder, Get("relative")), 400);
  EXPECT_EQ(Build(builder, Get("*")), 400);  // asterisk-form is OPTIONS's alone
  ASSERT_EQ(Build(builder, {{":method", "OPTIONS"}, {":scheme", "http"}, {":path", "*"}}), 0);
  EXPECT_EQ(builder.head().target_form, TargetForm::kAsterisk);
}

TEST(Http2RequestBuilderTest, GrpcCallsAreToldByTheirContentType) {
  Http2RequestBuilder builder;
  for (const auto& [type, grpc] :
       std::vector<std::pair<std::string, bool>>{{"application/grpc", true},
                                                 {"application/grpc+proto", true},
                                                 {"Application/GRPC;charset=utf-8", true},
                                                 {"application/grpc-web", false},
                                                 {"application/json", false}}) {
    ASSERT_EQ(Build(builder, Get("/pkg.Service/Method", {{"content-type", type}})), 0);
    EXPECT_EQ(builder.grpc(), grpc) << type;
  }
  ASSERT_EQ(Build(builder, Get("/pkg.Service/Method")), 0);
  EXPECT_FALSE(builder.grpc()) << "a builder reused forgets the last request's type";
}

TEST(GrpcStatusTest, NamesAndTheHttpMappingFollowGrpcsDocuments) {
  EXPECT_EQ(kGrpcStatusNames[0], "OK");
  EXPECT_EQ(kGrpcStatusNames[kGrpcStatusUnavailable], "UNAVAILABLE");
  EXPECT_EQ(kGrpcStatusNames[16], "UNAUTHENTICATED");
  EXPECT_EQ(GrpcStatusForHttp(503), kGrpcStatusUnavailable);
  EXPECT_EQ(GrpcStatusForHttp(504), kGrpcStatusUnavailable);
  EXPECT_EQ(kGrpcStatusNames[GrpcStatusForHttp(404)], "UNIMPLEMENTED");
  EXPECT_EQ(kGrpcStatusNames[GrpcStatusForHttp(401)], "UNAUTHENTICATED");
  EXPECT_EQ(kGrpcStatusNames[GrpcStatusForHttp(400)], "INTERNAL");
  EXPECT_EQ(GrpcStatusForHttp(200), kGrpcStatusUnknown);  // 200 without a grpc-status
}

TEST(GrpcMessageTest, TheMessageIsPercentEncodedAsGrpcCarriesIt) {
  std::string encoded;
  PercentEncodeGrpcMessage("down 100% \xC3\xA9t\xC3\xA9\n", &encoded);
  EXPECT_EQ(encoded, "down 100%25 %C3%A9t%C3%A9%0A");
}

TEST(ClientPrefaceTest, ThePrefaceIsToldFromHttp1AsSoonAsItCanBe) {
  EXPECT_EQ(MatchClientPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), PrefaceMatch::kYes);
  EXPECT_EQ(MatchClientPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00"), PrefaceMatch::kYes);
  EXPECT_EQ(MatchClientPreface("PRI * HTTP/2.0\r\n"), PrefaceMatch::kPartial);
  EXPECT_EQ(MatchClientPreface("P"), PrefaceMatch::kPartial);
  EXPECT_EQ(MatchClientPreface("POST / HTTP/1.1\r\n"), PrefaceMatch::kNo);
  EXPECT_EQ(MatchClientPreface("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), PrefaceMatch::kNo);
}

// What curl --http2 sends (its HTTP2-Settings: max concurrent streams 100, window 32 MiB,
// no push).
constexpr std::string_view kCurlUpgrade =
    "GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";

RequestHead HeadOf(HttpMethod method, uint64_t content_length = 0) {
  RequestHead head;
  head.method = method;
  head.target = "/x";
  head.content_length = content_length;
  return head;
}

TEST(H2cUpgradeTest, CurlsUpgradeIsAcceptedWithItsSettingsDecoded) {
  Http2Upgrade upgrade;
  ASSERT_TRUE(AcceptH2cUpgrade(HeadOf(HttpMethod::kGet), kCurlUpgrade, &upgrade));
  EXPECT_EQ(upgrade.settings.size(), 18u);  // three settings of 6 bytes
  EXPECT_EQ(upgrade.head_block, kCurlUpgrade);
  EXPECT_FALSE(upgrade.head_request);
}

TEST(H2cUpgradeTest, UpgradesTheNodeDeclinesAreAnsweredOverHttp1) {
  Http2Upgrade upgrade;
  EXPECT_FALSE(AcceptH2cUpgrade(HeadOf(HttpMethod::kPost, 10), kCurlUpgrade, &upgrade))
      << "a request with a body";
  std::string no_connection_option(kCurlUpgrade);
  no_connection_option.replace(no_connection_option.find("Upgrade, "), 9, "");
  EXPECT_FALSE(AcceptH2cUpgrade(HeadOf(HttpMethod::kGet), no_connection_option, &upgrade));
  std::string websocket(kCurlUpgrade);
  websocket.replace(websocket.find("h2c"), 3, "websocket");
  EXPECT_FALSE(AcceptH2cUpgrade(HeadOf(HttpMethod::kGet), websocket, &upgrade));
  std::string bad_settings(kCurlUpgrade);
  bad_settings.replace(bad_settings.find("AAMAAABk"), 8, "AAMAAA!k");
  EXPECT_FALSE(AcceptH2cUpgrade(HeadOf(HttpMethod::kGet), bad_settings, &upgrade));
  std::string short_settings(kCurlUpgrade);
  short_settings.replace(short_settings.find("AAMAAABkAAQCAAAAAAIAAAAA"), 24, "AAMAAA");
  EXPECT_FALSE(AcceptH2cUpgrade(HeadOf(HttpMethod::kGet), short_settings, &upgrade))
      << "4 bytes: not a whole setting";
}

TEST(H2cUpgradeTest, TheUpgradedRequestBecomesHttp2FieldsWithoutItsConnectionFields) {
  Http2RequestBuilder builder;
  builder.Begin({});
  AddHttp1HeadFields(kCurlUpgrade, builder);
  ASSERT_EQ(builder.Finish(), 0);
  EXPECT_EQ(builder.head().target, "/x");
  EXPECT_EQ(builder.authority(), "127.0.0.1:8080");
  EXPECT_EQ(builder.head_block(),
            "GET /x HTTP/2\r\nhost: 127.0.0.1:8080\r\nuser-agent: curl/7.88.1\r\naccept: */*\r\n"
            "\r\n");
}

}  // namespace
}  // namespace proxynode
