#include "cli/context.h"

#include <memory>
#include <optional>

#include "cli/units.h"
#include "common/bounded_file.h"

namespace proxyctl {
namespace {

// Certificate files are a few KiB; this stops a wrong path such as /dev/zero early.
constexpr size_t kMaxPemBytes = 4 * 1024 * 1024;

// Reads the PEM file `flag` names; it must hold a `block` ("CERTIFICATE", "PRIVATE KEY").
// Whatever is wrong with it is a usage error naming the flag and the path, caught before
// gRPC would turn it into a vague connection failure.
Outcome ReadPemFile(const std::string& flag, const std::string& path, const std::string& block,
                    std::string* text) {
  auto failure = [&](const std::string& problem) {
    return Outcome::Failure(kExitUsage, flag + " " + path + ": " + problem);
  };
  if (std::optional<std::string> problem = proxynode::ReadBoundedFile(path, kMaxPemBytes, text)) {
    return failure(*problem);
  }
  if (text->find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos) {
    return failure("the key is encrypted; proxyctl needs it unencrypted");
  }
  if (text->find(block + "-----") == std::string::npos) {
    return failure("no PEM " + block + " in it");
  }
  return Outcome{};
}

// Plaintext without --tls_ca; with it, SSL credentials from the files.
Outcome ResolveTransport(const GlobalOptions& options, Transport* transport) {
  if (options.tls_ca.empty()) {
    for (auto [flag, value] :
         {std::pair{"--tls_cert", &options.tls_cert}, std::pair{"--tls_key", &options.tls_key},
          std::pair{"--tls_server_name", &options.tls_server_name}}) {
      if (!value->empty()) {
        return Outcome::Failure(kExitUsage, std::string(flag) +
                                                " needs --tls_ca (the CA that signed the "
                                                "node's certificate), which turns TLS on");
      }
    }
    return Outcome{};
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Outcome::Failure(kExitUsage,
                            options.tls_cert.empty()
                                ? "--tls_key needs --tls_cert (the client certificate of that key)"
                                : "--tls_cert needs --tls_key (the certificate's private key)");
  }
  grpc::SslCredentialsOptions ssl;
  if (Outcome read = ReadPemFile("--tls_ca", options.tls_ca, "CERTIFICATE", &ssl.pem_root_certs);
      !read.ok()) {
    return read;
  }
  if (!options.tls_cert.empty()) {
    if (Outcome read =
            ReadPemFile("--tls_cert", options.tls_cert, "CERTIFICATE", &ssl.pem_cert_chain);
        !read.ok()) {
      return read;
    }
    if (Outcome read =
            ReadPemFile("--tls_key", options.tls_key, "PRIVATE KEY", &ssl.pem_private_key);
        !read.ok()) {
      return read;
    }
  }
  transport->tls = grpc::SslCredentials(ssl);
  transport->server_name = options.tls_server_name;
  return Outcome{};
}

}  // namespace

Outcome ParsePositiveDuration(const std::string& flag, const std::string& text,
                              std::chrono::milliseconds* out) {
  std::optional<int64_t> nanos = ParseDuration(text);
  if (!nanos || *nanos < 1'000'000) {
    return Outcome::Failure(kExitUsage,
                            flag + " " + text + ": must be a duration >= 1ms like 500ms or 3s");
  }
  *out = std::chrono::milliseconds(*nanos / 1'000'000);
  return Outcome{};
}

namespace {

// Whether every address ("127.0.0.1:9090", "[::1]:9090") is a loopback one.
bool AllLoopback(const std::vector<std::string>& addresses) {
  for (const std::string& address : addresses) {
    if (address.rfind("127.", 0) != 0 && address.rfind("[::1]", 0) != 0) return false;
  }
  return true;
}

}  // namespace

Outcome ResolveContext(const GlobalOptions& options, const Resolver& resolver, Context* context) {
  if (Outcome timeout = ParsePositiveDuration("--timeout", options.timeout, &context->timeout);
      !timeout.ok()) {
    return timeout;
  }
  if (Outcome transport = ResolveTransport(options, &context->transport); !transport.ok()) {
    return transport;
  }
  context->json = options.output == "json" || options.output == "yaml";
  context->yaml = options.output == "yaml";
  context->all = options.all;
  if (!options.all) {
    absl::StatusOr<std::vector<HostPort>> elements = SplitAddressList(options.addr);
    if (!elements.ok()) {
      return Outcome::Failure(kExitUsage, std::string(elements.status().message()));
    }
    if (elements->size() > 1) {
      return Outcome::Failure(kExitUsage, "--addr names " + std::to_string(elements->size()) +
                                              " nodes; pass --all to run the command on each");
    }
    // A name that stands for several nodes (a headless Service) is refused rather than left
    // to gRPC, which would send the command to whichever answers first. Loopback names
    // ("localhost": 127.0.0.1 and ::1) are one machine.
    absl::StatusOr<std::vector<std::string>> nodes = ExpandAddressList(options.addr, resolver);
    if (nodes.ok() && nodes->size() > 1 && !AllLoopback(*nodes)) {
      std::string names;
      for (const std::string& node : *nodes) names += (names.empty() ? "" : ", ") + node;
      return Outcome::Failure(kExitUsage, "--addr " + options.addr + " resolves to " +
                                              std::to_string(nodes->size()) + " nodes (" + names +
                                              "); pass --all to run the command on each, or "
                                              "name one");
    }
    context->addresses = {elements->front().ToString()};
    return Outcome{};
  }
  absl::StatusOr<std::vector<std::string>> expanded = ExpandAddressList(options.addr, resolver);
  if (!expanded.ok()) {
    bool usage = expanded.status().code() == absl::StatusCode::kInvalidArgument;
    return Outcome::Failure(usage ? kExitUsage : kExitUnreachable,
                            std::string(expanded.status().message()));
  }
  context->addresses = *std::move(expanded);
  return Outcome{};
}

}  // namespace proxyctl
