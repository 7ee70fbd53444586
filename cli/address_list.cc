#include "cli/address_list.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include "cli/units.h"

namespace proxyctl {
namespace {

bool IsIpLiteral(const std::string& host) {
  in6_addr buffer{};
  return inet_pton(AF_INET, host.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &buffer) == 1;
}

absl::Status BadElement(std::string_view element, const std::string& why) {
  return absl::InvalidArgumentError("--addr " + std::string(element) + ": " + why);
}

std::optional<int> ParsePort(std::string_view digits) {
  int port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 ||
      port > 65535) {
    return std::nullopt;
  }
  return port;
}

}  // namespace

std::string HostPort::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view element) {
  HostPort result;
  std::string_view port_text;
  bool has_port = false;
  if (!element.empty() && element.front() == '[') {
    size_t close = element.find(']');
    if (close == std::string_view::npos) return BadElement(element, "missing ']'");
    result.host = std::string(element.substr(1, close - 1));
    std::string_view rest = element.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return BadElement(element, "expected ':port' after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
    in6_addr buffer{};
    if (inet_pton(AF_INET6, result.host.c_str(), &buffer) != 1) {
      return BadElement(element, "not an IPv6 address in brackets");
    }
  } else {
    size_t colon = element.find(':');
    if (colon != std::string_view::npos && element.find(':', colon + 1) != std::string_view::npos) {
      return BadElement(element, "an IPv6 address needs brackets, e.g. [::1]:9090");
    }
    result.host = std::string(element.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = element.substr(colon + 1);
      has_port = true;
    }
  }
  if (result.host.empty()) return BadElement(element, "missing host, e.g. 127.0.0.1:9090");
  if (result.host.find_first_of(" \t/@") != std::string::npos) {
    return BadElement(element, "not a host name or address");
  }
  if (has_port) {
    std::optional<int> port = ParsePort(port_text);
    if (!port) return BadElement(element, "the port must be a number 1-65535");
    result.port = *port;
  }
  return result;
}

absl::StatusOr<std::vector<HostPort>> SplitAddressList(std::string_view list) {
  std::vector<HostPort> elements;
  while (true) {
    size_t comma = list.find(',');
    std::string_view element = TrimSpaces(list.substr(0, comma));
    if (element.empty()) {
      return absl::InvalidArgumentError("--addr " + std::string(list) +
                                        ": empty element; expected host:port[,host:port...]");
    }
    absl::StatusOr<HostPort> parsed = ParseHostPort(element);
    if (!parsed.ok()) return parsed.status();
    elements.push_back(*parsed);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return elements;
}

absl::StatusOr<std::vector<std::string>> ExpandAddressList(std::string_view list,
                                                           const Resolver& resolver) {
  absl::StatusOr<std::vector<HostPort>> elements = SplitAddressList(list);
  if (!elements.ok()) return elements.status();
  std::vector<std::string> addresses;
  auto add = [&addresses](const HostPort& node) {
    std::string text = node.ToString();
    if (std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
      addresses.push_back(std::move(text));
    }
  };
  for (const HostPort& element : *elements) {
    if (IsIpLiteral(element.host)) {
      add(element);
      continue;
    }
    std::vector<std::string> resolved = resolver(element.host);
    if (resolved.empty()) {
      return absl::NotFoundError("cannot resolve " + element.host);
    }
    for (const std::string& host : resolved) {
      add(HostPort{host, element.port});
    }
  }
  return addresses;
}

std::vector<std::string> ResolveWithGetaddrinfo(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return {};
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  std::vector<std::string> hosts;
  for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof(text), nullptr, 0,
                    NI_NUMERICHOST) == 0) {
      hosts.emplace_back(text);
    }
  }
  return hosts;
}

}  // namespace proxyctl
