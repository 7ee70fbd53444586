// TLS on the control port: a test CA and certificates made with openssl in a per-test
// directory; the node with --control_tls_cert/--control_tls_key (and --control_tls_client_ca
// for mutual TLS); TLS and plaintext clients, proxyctl with its --tls_* flags, and the
// start-up errors of bad TLS flags.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/command.h"
#include "tests/testing/control_client.h"
#include "tests/testing/node_process.h"

#ifndef PROXYNODE_BINARY
#error "PROXYNODE_BINARY must name the proxynode executable (set by CMakeLists.txt)"
#endif
#ifndef PROXYCTL_BINARY
#error "PROXYCTL_BINARY must name the proxyctl executable (set by CMakeLists.txt)"
#endif

namespace proxynode::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// A plaintext or refused TLS connection fails at once; this only bounds a broken test.
constexpr std::chrono::milliseconds kRpcTimeout = 5s;

// A directory of its own per test, holding a test CA (ca.pem, ca.key) and what it signs.
class ControlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "control_tls_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
    // EC P-256 keys: generated in milliseconds, unlike RSA.
    ASSERT_NO_FATAL_FAILURE(
        OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", Path("ca.key"), "-out", Path("ca.pem"), "-days", "1", "-subj",
                 "/CN=proxynode test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign"}));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs openssl with `args`; a failure (openssl missing included) fails the test.
  void OpenSsl(const std::vector<std::string>& args) {
    std::vector<std::string> command = {"openssl"};
    command.insert(command.end(), args.begin(), args.end());
    CommandResult run = RunCommand(command, dir_);
    ASSERT_TRUE(run.exit && run.exit->exited && run.exit->code == 0)
        << "openssl " << args.front() << " failed (is openssl installed? "
        << "scripts/install-deps.sh installs it): " << run;
  }

  // Makes NAME.key and NAME.pem, a certificate the test CA signs, with the X.509v3
  // extensions `extensions` (e.g. "subjectAltName=DNS:localhost").
  void Issue(const std::string& name, const std::vector<std::string>& extensions) {
    std::ofstream ext(dir_ / (name + ".ext"));
    for (const std::string& line : extensions) ext << line << "\n";
    ext.close();
    ASSERT_NO_FATAL_FAILURE(OpenSsl(
        {"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", Path(name + ".key"), "-out", Path(name + ".csr"), "-subj", "/CN=" + name}));
    ASSERT_NO_FATAL_FAILURE(
        OpenSsl({"x509", "-req", "-in", Path(name + ".csr"), "-CA", Path("ca.pem"), "-CAkey",
                 Path("ca.key"), "-set_serial", std::to_string(++serial_), "-days", "1", "-out",
                 Path(name + ".pem"), "-extfile", Path(name + ".ext")}));
  }

  // The node's certificate: for localhost and 127.0.0.1, the addresses the clients use.
  void IssueServerCertificate() {
    Issue("server", {"subjectAltName=DNS:localhost,IP:127.0.0.1", "extendedKeyUsage=serverAuth"});
  }
  void IssueClientCertificate() { Issue("client", {"extendedKeyUsage=clientAuth"}); }

  // The node's flags for TLS with server.pem and server.key.
  std::vector<std::string> TlsFlags() const {
    return {"--delay=0s", "--workers=1", "--control_tls_cert=" + Path("server.pem"),
            "--control_tls_key=" + Path("server.key")};
  }

  // Credentials trusting the test CA, with client.pem as the client certificate if asked.
  std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(bool client_certificate = false) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadTextFile(dir_ / "ca.pem");
    if (client_certificate) {
      options.pem_cert_chain = ReadTextFile(dir_ / "client.pem");
      options.pem_private_key = ReadTextFile(dir_ / "client.key");
    }
    return grpc::SslCredentials(options);
  }

  // proxyctl against `node`: --addr 127.0.0.1:PORT, then `args`.
  CommandResult Proxyctl(const NodeProcess& node, std::vector<std::string> args) {
    args.insert(args.begin(),
                {PROXYCTL_BINARY, "--addr", "127.0.0.1:" + std::to_string(node.control_port())});
    return RunCommand(args, dir_);
  }

  // The node with `flags` (listeners on port 0), run to its exit.
  CommandResult RunNode(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {PROXYNODE_BINARY, "--http_listen=127.0.0.1:0",
                                     "--admin_listen=127.0.0.1:0", "--control_listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunCommand(args, dir_);
  }

  std::filesystem::path dir_;
  int serial_ = 1;
};

bool ExitedWith(const CommandResult& run, int code) {
  return run.exit && run.exit->exited && run.exit->code == code;
}

TEST_F(ControlTlsTest, TlsClientTrustingTheCaGetsTheConfig) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  ControlClient control(node.control_port(), TlsCredentials(), kRpcTimeout);
  v1::NodeConfig config;
  grpc::Status status = control.GetConfig(&config);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(config.version(), 1u);
  EXPECT_EQ(config.workers(), 1u);
}

TEST_F(ControlTlsTest, PlaintextClientIsRefused) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  ControlClient plaintext(node.control_port(), kRpcTimeout);
  v1::NodeConfig config;
  grpc::Status status = plaintext.GetConfig(&config);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
}

TEST_F(ControlTlsTest, HealthCheckOverTlsIsServing) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  ControlClient control(node.control_port(), TlsCredentials(), kRpcTimeout);
  for (const char* service : {"", "proxynode.v1.ControlService", "liveness"}) {
    HealthStatus health = HealthStatus::kUnknown;
    grpc::Status status = control.HealthCheck(service, &health);
    ASSERT_TRUE(status.ok()) << "\"" << service << "\": " << Describe(status);
    EXPECT_EQ(health, HealthStatus::kServing) << "\"" << service << "\"";
  }
}

TEST_F(ControlTlsTest, ProxyctlWithTheCaPrintsTheConfig) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  CommandResult run = Proxyctl(node, {"--tls_ca", Path("ca.pem"), "config", "get"});
  ASSERT_TRUE(ExitedWith(run, 0)) << run;
  EXPECT_THAT(run.out, HasSubstr("workers"));
  EXPECT_THAT(run.out, HasSubstr("delay"));
  EXPECT_EQ(run.err, "");
}

TEST_F(ControlTlsTest, ProxyctlWithoutTlsIsUnreachableAndSaysWhy) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  CommandResult run = Proxyctl(node, {"status"});
  ASSERT_TRUE(ExitedWith(run, 3)) << run;
  EXPECT_THAT(run.err, HasSubstr("cannot reach 127.0.0.1:"));
  EXPECT_THAT(run.err, HasSubstr("pass --tls_ca"));
  EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "one line: " << run.err;
}

TEST_F(ControlTlsTest, ProxyctlWithTlsToAPlaintextNodeSaysSo) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  CommandResult run = Proxyctl(node, {"--tls_ca", Path("ca.pem"), "status"});
  ASSERT_TRUE(ExitedWith(run, 3)) << run;
  EXPECT_THAT(run.err, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(run.err, HasSubstr("plaintext"));
}

TEST_F(ControlTlsTest, ProxyctlTrustingAnotherCaIsRefusedByTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));
  // A self-signed certificate of its own: a CA that did not sign the node's certificate.
  ASSERT_NO_FATAL_FAILURE(
      OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-keyout", Path("other_ca.key"), "-out", Path("other_ca.pem"), "-days",
               "1", "-subj", "/CN=another CA"}));
  CommandResult run = Proxyctl(node, {"--tls_ca", Path("other_ca.pem"), "status"});
  ASSERT_TRUE(ExitedWith(run, 3)) << run;
  EXPECT_THAT(run.err, HasSubstr("TLS handshake failed: certificate verify failed"));
}

TEST_F(ControlTlsTest, MutualTlsNeedsAClientCertificateSignedByTheClientCa) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  ASSERT_NO_FATAL_FAILURE(IssueClientCertificate());
  NodeProcess node;
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--control_tls_client_ca=" + Path("ca.pem"));
  ASSERT_TRUE(node.Start(flags));

  CommandResult without = Proxyctl(node, {"--tls_ca", Path("ca.pem"), "config", "get", "version"});
  ASSERT_TRUE(ExitedWith(without, 3)) << without;
  EXPECT_THAT(without.err, HasSubstr("client certificate"));

  CommandResult with =
      Proxyctl(node, {"--tls_ca", Path("ca.pem"), "--tls_cert", Path("client.pem"), "--tls_key",
                      Path("client.key"), "config", "get", "version"});
  ASSERT_TRUE(ExitedWith(with, 0)) << with;
  EXPECT_EQ(with.out, "1\n");
  // The audit line of a change names the certificate's identity (its CN).
  CommandResult set =
      Proxyctl(node, {"--tls_ca", Path("ca.pem"), "--tls_cert", Path("client.pem"), "--tls_key",
                      Path("client.key"), "config", "set", "delay=5ms"});
  ASSERT_TRUE(ExitedWith(set, 0)) << set;
  EXPECT_TRUE(node.WaitForOutput(R"("identity":"client","version":2)", 2s)) << node.Output();

  // The test client the same way.
  v1::NodeConfig config;
  grpc::Status status =
      ControlClient(node.control_port(), TlsCredentials(), kRpcTimeout).GetConfig(&config);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  status =
      ControlClient(node.control_port(), TlsCredentials(/*client_certificate=*/true), kRpcTimeout)
          .GetConfig(&config);
  EXPECT_TRUE(status.ok()) << Describe(status);
}

TEST_F(ControlTlsTest, ServerNameVerifiesACertificateWithoutTheAddress) {
  // Only a DNS name, as a certificate for a Kubernetes Service would have: connecting to a
  // pod IP needs --tls_server_name.
  ASSERT_NO_FATAL_FAILURE(Issue("server", {"subjectAltName=DNS:proxynode-control.test"}));
  NodeProcess node;
  ASSERT_TRUE(node.Start(TlsFlags()));

  CommandResult by_address =
      Proxyctl(node, {"--tls_ca", Path("ca.pem"), "config", "get", "version"});
  ASSERT_TRUE(ExitedWith(by_address, 3)) << by_address;
  EXPECT_THAT(by_address.err, HasSubstr("--tls_server_name"));

  CommandResult by_name = Proxyctl(node, {"--tls_ca", Path("ca.pem"), "--tls_server_name",
                                          "proxynode-control.test", "config", "get", "version"});
  ASSERT_TRUE(ExitedWith(by_name, 0)) << by_name;
  EXPECT_EQ(by_name.out, "1\n");

  // --all connects to each address with the same name to verify.
  std::string address = "127.0.0.1:" + std::to_string(node.control_port());
  CommandResult fleet = RunCommand(
      {PROXYCTL_BINARY, "--addr", address + "," + address, "--all", "--tls_ca", Path("ca.pem"),
       "--tls_server_name", "proxynode-control.test", "config", "get", "version"},
      dir_);
  ASSERT_TRUE(ExitedWith(fleet, 0)) << fleet;
  EXPECT_THAT(fleet.out, Not(HasSubstr("error")));
}

TEST_F(ControlTlsTest, ProxyctlUsageErrorsNameTheFlag) {
  NodeProcess node;
  ASSERT_TRUE(node.Start({"--delay=0s", "--workers=1"}));
  const std::string missing = Path("missing.pem");
  CommandResult run = Proxyctl(node, {"--tls_ca", missing, "status"});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--tls_ca " + missing + ": cannot read it"));

  run = Proxyctl(node, {"--tls_ca", Path("ca.key"), "status"});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--tls_ca " + Path("ca.key")));

  run = Proxyctl(node, {"--tls_ca", Path("ca.pem"), "--tls_cert", Path("ca.pem"), "status"});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--tls_cert needs --tls_key"));

  run = Proxyctl(node, {"--tls_server_name", "x", "status"});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--tls_server_name needs --tls_ca"));
}

TEST_F(ControlTlsTest, CertificateWithoutKeyIsAStartupError) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  CommandResult run = RunNode({"--control_tls_cert=" + Path("server.pem")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_key"));

  run = RunNode({"--control_tls_key=" + Path("server.key")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_key needs --control_tls_cert"));

  run = RunNode({"--control_tls_client_ca=" + Path("ca.pem")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_client_ca needs --control_tls_cert"));
}

TEST_F(ControlTlsTest, UnusableFilesAreStartupErrorsNamingFlagAndPath) {
  ASSERT_NO_FATAL_FAILURE(IssueServerCertificate());
  const std::string missing = Path("missing.pem");
  CommandResult run =
      RunNode({"--control_tls_cert=" + missing, "--control_tls_key=" + Path("server.key")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_cert " + missing + ": cannot read it"));

  run = RunNode({"--control_tls_cert=" + Path("server.pem"), "--control_tls_key=" + missing});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_key " + missing + ": cannot read it"));

  run = RunNode({"--control_tls_cert=" + Path("server.pem"),
                 "--control_tls_key=" + Path("server.key"), "--control_tls_client_ca=" + missing});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_client_ca " + missing + ": cannot read it"));

  // The CA's key is a key, but not the certificate's.
  run =
      RunNode({"--control_tls_cert=" + Path("server.pem"), "--control_tls_key=" + Path("ca.key")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_key " + Path("ca.key") + ": not the key"));

  // Swapped files.
  run = RunNode(
      {"--control_tls_cert=" + Path("server.key"), "--control_tls_key=" + Path("server.pem")});
  ASSERT_TRUE(ExitedWith(run, 2)) << run;
  EXPECT_THAT(run.err, HasSubstr("--control_tls_cert " + Path("server.key")));
}

}  // namespace
}  // namespace proxynode::testing
