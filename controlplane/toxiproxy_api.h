#pragma once

// A drop-in for Toxiproxy 2.x's HTTP API (issue 19, docs/tcp-proxies.md), so Toxiproxy's
// clients and the test suites built on them steer proxynode's TCP proxies unchanged:
//   GET/POST /proxies, POST /populate, GET/POST/PATCH/DELETE /proxies/{proxy},
//   GET/POST /proxies/{proxy}/toxics, GET/POST/PATCH/DELETE /proxies/{proxy}/toxics/{toxic},
//   POST /reset, GET /version
// with Toxiproxy's status codes, error bodies ({"error":"proxy not found","status":404}) and
// JSON shapes (toxiproxy_translation.h).
//
// Nothing is kept here: every read is of the running config, and every change is a change of
// the config's whole tcp_proxies list through the config pipeline, as UpdateConfig makes it
// (a field mask "tcp_proxies", expected_version the version read, read again and retried
// when another change got in between). So each call is validated as gRPC's are, and shows in
// the config history (source TOXIPROXY_API, the HTTP client as origin) and the audit log.
//
// Thread contract: Handle runs on the control HTTP server's thread and blocks until the
// pipeline has applied the change; never call it on a worker or the pipeline's thread.

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "controlplane/config_pipeline.h"
#include "controlplane/control_http_server.h"
#include "dataplane/dataplane.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"
#include "proxynode/v1/control.pb.h"

namespace proxynode {

class ToxiproxyApi {
 public:
  // GET /version answers Toxiproxy's version whose API this follows.
  static constexpr const char* kCompatibleVersion = "2.8.0";

  // Both must outlive the API; `node_version` is reported beside the compatible version.
  ToxiproxyApi(ConfigPipeline& pipeline, const Dataplane& dataplane, std::string node_version);

  ControlHttpReply Handle(const ControlHttpRequest& request);

 private:
  using Proxies = google::protobuf::RepeatedPtrField<v1::TcpProxy>;
  // Edits the running list of proxies; an error (NOT_FOUND, ALREADY_EXISTS...) refuses the
  // call with its status before anything is submitted.
  using Edit = absl::FunctionRef<absl::Status(Proxies&)>;

  // The edited list applied through the pipeline: the config that then runs, or the refusal.
  absl::StatusOr<v1::NodeConfig> Change(const std::string& peer, Edit edit);
  v1::NodeConfig Running() const;

  ControlHttpReply Version() const;
  ControlHttpReply ListProxies() const;
  ControlHttpReply CreateProxy(const ControlHttpRequest& request);
  ControlHttpReply Populate(const ControlHttpRequest& request);
  ControlHttpReply Reset(const ControlHttpRequest& request);
  ControlHttpReply ShowProxy(const std::string& name) const;
  ControlHttpReply UpdateProxy(const ControlHttpRequest& request, const std::string& name);
  ControlHttpReply DeleteProxy(const ControlHttpRequest& request, const std::string& name);
  ControlHttpReply ListToxics(const std::string& proxy) const;
  ControlHttpReply CreateToxic(const ControlHttpRequest& request, const std::string& proxy);
  ControlHttpReply ShowToxic(const std::string& proxy, const std::string& toxic) const;
  ControlHttpReply UpdateToxic(const ControlHttpRequest& request, const std::string& proxy,
                               const std::string& toxic);
  ControlHttpReply DeleteToxic(const ControlHttpRequest& request, const std::string& proxy,
                               const std::string& toxic);

  ConfigPipeline& pipeline_;
  const Dataplane& dataplane_;
  const std::string node_version_;
};

// --toxiproxy_listen: serves `api` on `listen` ("host:port"); null when `listen` is empty
// (off). INVALID_ARGUMENT for an address that does not parse, UNAVAILABLE for one it cannot
// bind, each naming the flag.
absl::StatusOr<std::unique_ptr<ControlHttpServer>> ServeToxiproxyApi(const std::string& listen,
                                                                     ToxiproxyApi& api);

}  // namespace proxynode
