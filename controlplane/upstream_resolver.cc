#include "controlplane/upstream_resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "dataplane/transport/tls_client_context.h"

namespace proxynode {
namespace {

// "host:port" or "[v6]:port", already validated, into the resolver's two arguments.
std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, address.substr(colon + 1)};
}

absl::Status Resolve(const std::string& field, const std::string& address_text,
                     SocketAddress& resolved) {
  auto [host, port] = SplitHostPort(address_text);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  std::string reason = error == EAI_SYSTEM ? std::strerror(errno)
                       : error != 0        ? gai_strerror(error)
                                           : "no IPv4 or IPv6 address";
  for (const addrinfo* entry = found; error == 0 && entry != nullptr; entry = entry->ai_next) {
    if ((entry->ai_family == AF_INET || entry->ai_family == AF_INET6) &&
        entry->ai_addrlen <= sizeof(resolved.storage)) {
      std::memcpy(&resolved.storage, entry->ai_addr, entry->ai_addrlen);
      resolved.length = entry->ai_addrlen;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": \"", absl::CEscape(address_text), "\" does not resolve: ", reason));
}

}  // namespace

absl::Status ResolveUpstreams(NodeConfig& config) {
  for (size_t i = 0; i < config.routes.size(); ++i) {
    RouteConfig& route = config.routes[i];
    if (route.action == RouteAction::kProxy && route.uses_tls() && route.tls.context == nullptr) {
      const UpstreamTlsConfig files = route.upstream_tls.value_or(UpstreamTlsConfig{});
      absl::StatusOr<std::shared_ptr<TlsClientContext>> context = TlsClientContext::Create(
          TlsClientContext::Files{
              .ca_file = files.ca_file, .cert_file = files.cert_file, .key_file = files.key_file},
          route.http2_upstreams() ? "h2" : "http/1.1",
          absl::StrCat("routes[", i, "].upstream_tls"));
      if (!context.ok()) {
        return context.status();
      }
      route.tls.context = *std::move(context);
    }
    std::vector<Upstream>& upstreams = config.routes[i].upstreams;
    for (size_t j = 0; j < upstreams.size(); ++j) {
      if (upstreams[j].resolved.length != 0) {
        continue;
      }
      if (absl::Status status = Resolve(absl::StrCat("routes[", i, "].upstreams[", j, "]"),
                                        upstreams[j].address, upstreams[j].resolved);
          !status.ok()) {
        return status;
      }
    }
  }
  for (TcpProxyConfig& proxy : config.tcp_proxies) {
    if (proxy.upstream_resolved.length != 0) {
      continue;
    }
    if (absl::Status status = Resolve(absl::StrCat("tcp_proxies[", proxy.name, "].upstream"),
                                      proxy.upstream, proxy.upstream_resolved);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace proxynode
