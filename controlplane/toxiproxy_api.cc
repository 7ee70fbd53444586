#include "controlplane/toxiproxy_api.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controlplane/config_translator.h"
#include "controlplane/toxiproxy_json.h"

namespace proxynode {
namespace {

// Another change got in between the read and the submission this many times in a row: the
// API gives up with 503 rather than loop.
constexpr int kMaxAttempts = 8;

// gorilla/mux's answers for a path it does not route and a method a route does not take.
ControlHttpReply NotRouted() {
  return {
      .status = 404, .body = "404 page not found\n", .content_type = "text/plain; charset=utf-8"};
}
ControlHttpReply MethodNotAllowed() { return {.status = 405, .body = "", .content_type = ""}; }

bool IsUpdate(HttpMethod method) {
  return method == HttpMethod::kPost || method == HttpMethod::kPatch;
}

}  // namespace

ToxiproxyApi::ToxiproxyApi(ConfigPipeline& pipeline, const Dataplane& dataplane,
                           std::string node_version)
    : pipeline_(pipeline), dataplane_(dataplane), node_version_(std::move(node_version)) {}

ControlHttpReply ToxiproxyApi::Handle(const ControlHttpRequest& request) {
  if (request.path.empty() || request.path.front() != '/') {
    return NotRouted();
  }
  const std::vector<std::string> parts = absl::StrSplit(request.path.substr(1), '/');
  for (const std::string& part : parts) {
    if (part.empty()) {
      return NotRouted();  // "/proxies/" is not "/proxies", as in Toxiproxy
    }
  }
  const HttpMethod method = request.method;
  if (parts.size() == 1 && parts[0] == "version") {
    return method == HttpMethod::kGet ? Version() : MethodNotAllowed();
  }
  if (parts.size() == 1 && parts[0] == "reset") {
    return method == HttpMethod::kPost ? Reset(request) : MethodNotAllowed();
  }
  if (parts.size() == 1 && parts[0] == "populate") {
    return method == HttpMethod::kPost ? Populate(request) : MethodNotAllowed();
  }
  if (parts.empty() || parts[0] != "proxies" || parts.size() > 4 ||
      (parts.size() >= 3 && parts[2] != "toxics")) {
    return NotRouted();
  }
  switch (parts.size()) {
    case 1:
      return method == HttpMethod::kGet    ? ListProxies()
             : method == HttpMethod::kPost ? CreateProxy(request)
                                           : MethodNotAllowed();
    case 2:
      return method == HttpMethod::kGet      ? ShowProxy(parts[1])
             : IsUpdate(method)              ? UpdateProxy(request, parts[1])
             : method == HttpMethod::kDelete ? DeleteProxy(request, parts[1])
                                             : MethodNotAllowed();
    case 3:
      return method == HttpMethod::kGet    ? ListToxics(parts[1])
             : method == HttpMethod::kPost ? CreateToxic(request, parts[1])
                                           : MethodNotAllowed();
    default:
      return method == HttpMethod::kGet      ? ShowToxic(parts[1], parts[3])
             : IsUpdate(method)              ? UpdateToxic(request, parts[1], parts[3])
             : method == HttpMethod::kDelete ? DeleteToxic(request, parts[1], parts[3])
                                             : MethodNotAllowed();
  }
}

v1::NodeConfig ToxiproxyApi::Running() const { return ToProto(*dataplane_.config()); }

absl::StatusOr<v1::NodeConfig> ToxiproxyApi::Change(const std::string& peer, Edit edit) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const ConfigSnapshotPtr running = dataplane_.config();
    FieldMaskUpdate update;
    *update.fields.mutable_tcp_proxies() = ToProto(*running).tcp_proxies();
    update.mask.add_paths("tcp_proxies");
    if (absl::Status edited = edit(*update.fields.mutable_tcp_proxies()); !edited.ok()) {
      return edited;
    }
    ConfigOutcome outcome = pipeline_.Apply(ConfigChange{.source = ConfigSource::kToxiproxyApi,
                                                         .origin = peer,
                                                         .expected_version = running->version,
                                                         .update = std::move(update)});
    if (outcome.ok()) {
      return ToProto(*outcome->config);
    }
    // FAILED_PRECONDITION is also a draining node's answer: only a version that moved is a
    // reason to read again.
    if (outcome.status().code() != absl::StatusCode::kFailedPrecondition ||
        pipeline_.running_version() == running->version) {
      return outcome.status();
    }
  }
  return absl::UnavailableError("the config kept changing under the request; try again");
}

ControlHttpReply ToxiproxyApi::Version() const {
  return {.status = 200,
          .body = absl::StrCat("{\"version\": \"", kCompatibleVersion,
                               "\", \"proxynode\": ", toxiproxy::Quoted(node_version_), "}\n"),
          .content_type = "application/json;charset=utf-8"};
}

absl::StatusOr<std::unique_ptr<ControlHttpServer>> ServeToxiproxyApi(const std::string& listen,
                                                                     ToxiproxyApi& api) {
  if (listen.empty()) {
    return std::unique_ptr<ControlHttpServer>();
  }
  absl::StatusOr<SocketAddress> address = ParseSocketAddress(listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--toxiproxy_listen: ", address.status().message()));
  }
  absl::StatusOr<std::unique_ptr<ControlHttpServer>> server = ControlHttpServer::Start(
      *address, [&api](const ControlHttpRequest& request) { return api.Handle(request); });
  if (!server.ok()) {
    return absl::UnavailableError(
        absl::StrCat("--toxiproxy_listen=", listen, ": ", server.status().message()));
  }
  return server;
}

}  // namespace proxynode
