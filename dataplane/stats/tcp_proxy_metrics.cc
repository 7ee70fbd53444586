#include "dataplane/stats/tcp_proxy_metrics.h"

#include "absl/strings/str_cat.h"
#include "dataplane/stats/prometheus_text.h"

namespace proxynode {
namespace {

// One counter family, a sample per proxy.
template <typename ValueOf>
void ProxyCounter(std::string& out, const char* name, const char* help,
                  const std::vector<std::string>& labels,
                  const std::vector<TcpProxyStatsValues>& proxies, ValueOf value_of) {
  Header(out, name, "counter", help);
  for (size_t i = 0; i < proxies.size(); ++i) {
    absl::StrAppend(&out, name, "{", labels[i], "} ", value_of(proxies[i]), "\n");
  }
}

}  // namespace

void RenderTcpProxies(std::string& out, const std::vector<TcpProxyStatsValues>& proxies) {
  if (proxies.empty()) return;
  std::vector<std::string> labels;
  labels.reserve(proxies.size());
  for (const TcpProxyStatsValues& proxy : proxies) {
    labels.push_back(absl::StrCat("proxy=\"", EscapeLabelValue(proxy.name), "\""));
  }
  using Values = TcpProxyStatsValues;
  ProxyCounter(out, "proxynode_tcp_proxy_connections_total", "Connections accepted", labels,
               proxies, [](const Values& p) { return p.connections; });
  Header(out, "proxynode_tcp_proxy_bytes_total", "counter",
         "Bytes relayed, by direction (upstream: client to upstream)");
  for (size_t i = 0; i < proxies.size(); ++i) {
    absl::StrAppend(&out, "proxynode_tcp_proxy_bytes_total{", labels[i],
                    ",direction=\"upstream\"} ", proxies[i].bytes_upstream, "\n",
                    "proxynode_tcp_proxy_bytes_total{", labels[i], ",direction=\"downstream\"} ",
                    proxies[i].bytes_downstream, "\n");
  }
  ProxyCounter(out, "proxynode_tcp_proxy_spliced_bytes_total",
               "Bytes relayed by splice(2), both directions (no toxic on their way)", labels,
               proxies, [](const Values& p) { return p.bytes_spliced; });
  ProxyCounter(out, "proxynode_tcp_proxy_connect_failures_total",
               "Upstream connects refused, unreachable or timed out", labels, proxies,
               [](const Values& p) { return p.connect_failures; });
  ProxyCounter(out, "proxynode_tcp_proxy_resets_injected_total",
               "Connections reset by a reset_peer toxic", labels, proxies,
               [](const Values& p) { return p.resets_injected; });
  ProxyCounter(out, "proxynode_tcp_proxy_timeouts_injected_total",
               "Connections closed by a timeout toxic", labels, proxies,
               [](const Values& p) { return p.timeouts_injected; });
  ProxyCounter(out, "proxynode_tcp_proxy_refused_total",
               "Connections closed at once by a down toxic", labels, proxies,
               [](const Values& p) { return p.refused; });
  Header(out, "proxynode_tcp_proxy_active_connections", "gauge", "Relays open now");
  for (size_t i = 0; i < proxies.size(); ++i) {
    absl::StrAppend(&out, "proxynode_tcp_proxy_active_connections{", labels[i], "} ",
                    proxies[i].active, "\n");
  }
  for (const char* family : {"applied", "skipped"}) {
    const bool applied = family[0] == 'a';
    const std::string name = absl::StrCat("proxynode_toxic_", family, "_total");
    Header(out, name.c_str(), "counter",
           applied ? "Connections a toxic's toxicity draw hit"
                   : "Connections a toxic's toxicity draw spared");
    for (size_t i = 0; i < proxies.size(); ++i) {
      for (const ToxicStatsValues& toxic : proxies[i].toxics) {
        absl::StrAppend(&out, name, "{", labels[i], ",toxic=\"", EscapeLabelValue(toxic.name),
                        "\",type=\"", toxic.type, "\"} ", applied ? toxic.applied : toxic.skipped,
                        "\n");
      }
    }
  }
}

}  // namespace proxynode
