// The node's command line: every usage error, an unknown flag included, is one plain line on
// stderr and exit 2 (README); `--check` validates the configuration without starting, like
// `nginx -t`.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/command.h"

#ifndef PROXYNODE_BINARY
#error "PROXYNODE_BINARY must name the proxynode executable (set by CMakeLists.txt)"
#endif

namespace proxynode::testing {
namespace {

class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "command_line_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The node with `args`, listeners on port 0 (should it start after all), to its exit.
  CommandResult Run(const std::vector<std::string>& args) {
    std::vector<std::string> command = {PROXYNODE_BINARY, "--http_listen=127.0.0.1:0",
                                        "--admin_listen=127.0.0.1:0",
                                        "--control_listen=127.0.0.1:0"};
    command.insert(command.end(), args.begin(), args.end());
    return RunCommand(command, dir_, std::chrono::seconds(10));
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

// Exit 2, nothing on stdout, and on stderr one line "proxynode: ..." that names `mentions`.
void ExpectUsageError(const CommandResult& run, const std::string& mentions) {
  ASSERT_TRUE(run.exit) << "still running: " << run;
  EXPECT_EQ(run.exit->ToString(), "exit 2") << run;
  EXPECT_EQ(run.out, "") << run;
  EXPECT_TRUE(run.err.starts_with("proxynode: ")) << run;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run;
  EXPECT_TRUE(run.err.ends_with("\n")) << run;
  EXPECT_NE(run.err.find(mentions), std::string::npos)
      << "does not name " << mentions << ": " << run;
}

TEST_F(CommandLineTest, EveryUsageErrorIsOnePlainLineAndExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{"--wokers=2"}, "unknown flag --wokers (did you mean --workers?)"},
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--workers=abc"}, "--workers=abc"},
      {{"--delay=soon"}, "--delay=soon"},
      {{"--cpu_local=maybe"}, "--cpu_local=maybe"},
      {{"--nocpu_local=true"}, "--nocpu_local"},
      {{"--max_body_bytes"}, "--max_body_bytes needs a value"},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--", "stray"}, "unexpected argument \"stray\""},
      // Refused after parsing (values out of range, addresses): the same form.
      {{"--delay=-5ms"}, "delay"},
      {{"--http_listen=nowhere"}, "--http_listen"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args.front());
    ExpectUsageError(Run(c.args), c.mentions);
  }
}

// A port this test holds: a node that tried to listen on it would fail to start.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~HeldPort() { close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST_F(CommandLineTest, CheckValidatesWithoutStarting) {
  HeldPort held;  // --check binds nothing, so a port in use does not matter to it
  const std::string config = WriteFile("node.textproto",
                                       "workers: 2\nroutes { prefix: \"/api/\" action: PROXY "
                                       "upstreams: \"127.0.0.1:9\" }\n");
  const CommandResult valid =
      Run({"--check", "--config=" + config, "--http_listen=" + held.address(), "--delay=5ms"});
  ASSERT_TRUE(valid.exit) << "still running: " << valid;
  EXPECT_EQ(valid.exit->ToString(), "exit 0") << valid;
  EXPECT_EQ(valid.out,
            "proxynode: the configuration is valid (config file " + config + " with the flags)\n")
      << valid;
  EXPECT_EQ(valid.err, "") << valid;

  const CommandResult flags_only = Run({"--check"});
  ASSERT_TRUE(flags_only.exit) << "still running: " << flags_only;
  EXPECT_EQ(flags_only.exit->ToString(), "exit 0") << flags_only;
  EXPECT_EQ(flags_only.out, "proxynode: the configuration is valid (the flags)\n") << flags_only;

  // What start-up would refuse, --check refuses the same way, naming the field.
  const std::string bad = WriteFile("bad.textproto", "workers: 0\n");
  ExpectUsageError(Run({"--check", "--config=" + bad}), "workers");
  ExpectUsageError(Run({"--check", "--config=" + config, "--max_header_bytes=1"}),
                   "max_header_bytes");
  ExpectUsageError(Run({"--check", "--upstream=nohost.invalid:80"}), "nohost.invalid");
  ExpectUsageError(Run({"--check", "--admin_listen=nowhere"}), "--admin_listen");
  ExpectUsageError(Run({"--check", "--control_tls_key=/nonexistent/key.pem"}), "--control_tls");
}

}  // namespace
}  // namespace proxynode::testing
