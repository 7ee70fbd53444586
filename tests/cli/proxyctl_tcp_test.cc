// `proxyctl tcp` and `proxyctl toxic` against real nodes (issue 19), on the config side: what
// each command leaves in the node's config (read back with `config get tcp_proxies -o json`,
// i.e. GetConfig), the list views, the diff and dry runs, toxiproxy-cli's command words, CAS
// with --expected-version, the one-line refusals and their exit codes, `config get
// tcp_proxies` pasted into `config set` on another node, and --all over two nodes. Relayed
// bytes are the data plane's tests.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/json_check.h"
#include "tests/cli/proxyctl_runner.h"
#include "tests/testing/node_process.h"

namespace proxynode::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// A port free right now on 127.0.0.1 (the kernel's pick for port 0). Until the data plane
// listens, the node stores `listen` as given, so a port 0 would stay 0.
std::string FreeAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "no free port";
  }
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

class ProxyctlTcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start({"--workers=1", "--delay=0s"}));
    listen_ = FreeAddress();
    upstream_ = FreeAddress();
  }

  Result Run(std::vector<std::string> args) { return RunOn(node_, std::move(args)); }
  std::string Version() { return Run({"config", "get", "version"}).out; }
  Result AddRedis() {
    return Run({"tcp", "add", "redis", "--listen", listen_, "--upstream", upstream_});
  }

  // The node's proxies, as GetConfig returns them.
  std::vector<Json> Proxies() {
    Result get = Run({"config", "get", "tcp_proxies", "-o", "json"});
    EXPECT_EQ(get.code, 0) << get;
    std::optional<Json> parsed = ParseJson(get.out);
    EXPECT_TRUE(parsed) << get;
    return parsed ? Field(*parsed, "tcp_proxies").items : std::vector<Json>{};
  }

  NodeProcess node_;
  std::string listen_;
  std::string upstream_;
};

TEST_F(ProxyctlTcpTest, AddListRemove) {
  Result add = AddRedis();
  ASSERT_EQ(add.code, 0) << add;
  EXPECT_THAT(add.out, ContainsRegex("^added TCP proxy redis on " + Addr(node_) +
                                     ": config version 2 in [^\n]+\n  \\+ tcp_proxies\\[redis\\]: "
                                     "\\{name: \"redis\", listen: \"" +
                                     listen_ + "\""));
  EXPECT_EQ(add.err, "");
  std::vector<Json> proxies = Proxies();
  ASSERT_EQ(proxies.size(), 1u);
  EXPECT_EQ(Field(proxies[0], "name").text, "redis");
  EXPECT_EQ(Field(proxies[0], "listen").text, listen_);
  EXPECT_EQ(Field(proxies[0], "upstream").text, upstream_);
  EXPECT_TRUE(Field(proxies[0], "enabled").boolean);

  Result list = Run({"tcp", "list"});
  ASSERT_EQ(list.code, 0) << list;
  EXPECT_THAT(list.out, ContainsRegex("^NAME +LISTEN +UPSTREAM +ENABLED +TOXICS\nredis +" +
                                      listen_ + " +" + upstream_ + " +yes +-\n$"));
  Result json = Run({"tcp", "list", "-o", "json"});
  std::optional<Json> parsed = ParseJson(json.out);
  ASSERT_TRUE(parsed) << json;
  EXPECT_EQ(Number(Field(*parsed, "config_version")), 2);
  EXPECT_EQ(Field(Field(*parsed, "tcp_proxies").items.at(0), "upstream").text, upstream_);

  Result remove = Run({"tcp", "remove", "redis"});
  ASSERT_EQ(remove.code, 0) << remove;
  EXPECT_THAT(remove.out,
              ContainsRegex("^removed TCP proxy redis on " + Addr(node_) +
                            ": config version 3 in [^\n]+\n  - tcp_proxies\\[redis\\]"));
  EXPECT_TRUE(Proxies().empty());
  EXPECT_EQ(Run({"tcp", "list"}).out, "no TCP proxies on " + Addr(node_) + "\n");
}

TEST_F(ProxyctlTcpTest, DisableEnableUpdate) {
  ASSERT_EQ(Run({"tcp", "add", "pg", "--listen", listen_, "--upstream", upstream_, "--disabled",
                 "--connect-timeout", "2s"})
                .code,
            0);
  EXPECT_FALSE(Field(Proxies().at(0), "enabled").boolean);
  EXPECT_EQ(Field(Proxies().at(0), "connect_timeout").text, "2s");
  EXPECT_THAT(Run({"tcp", "list"}).out, HasSubstr(" no "));

  Result enable = Run({"tcp", "enable", "pg"});
  ASSERT_EQ(enable.code, 0) << enable;
  EXPECT_THAT(enable.out, HasSubstr("\n  tcp_proxies[pg].enabled: false -> true\n"));
  EXPECT_TRUE(Field(Proxies().at(0), "enabled").boolean);
  Result again = Run({"tcp", "enable", "pg"});
  EXPECT_EQ(again.code, 0) << again;
  EXPECT_EQ(again.out,
            "unchanged on " + Addr(node_) + ": config version 3 already is what was asked\n");

  ASSERT_EQ(Run({"tcp", "disable", "pg"}).code, 0);
  EXPECT_FALSE(Field(Proxies().at(0), "enabled").boolean);

  const std::string other = FreeAddress();
  Result update = Run({"tcp", "update", "pg", "--upstream", other});
  ASSERT_EQ(update.code, 0) << update;
  EXPECT_THAT(update.out, HasSubstr("  tcp_proxies[pg].upstream: \"" + upstream_ + "\" -> \"" +
                                    other + "\"\n"));
  EXPECT_EQ(Field(Proxies().at(0), "upstream").text, other);
  EXPECT_EQ(Field(Proxies().at(0), "listen").text, listen_);
}

TEST_F(ProxyctlTcpTest, ToxicAddUpdateRemoveAsToxiproxyCliTakesThem) {
  ASSERT_EQ(AddRedis().code, 0);
  // toxiproxy-cli's own example, with the proxy name first.
  Result add = Run({"toxic", "add", "redis", "-t", "latency", "-a", "latency=1000", "-a",
                    "jitter=50", "--downstream", "--toxicity", "0.5"});
  ASSERT_EQ(add.code, 0) << add;
  EXPECT_THAT(add.out, ContainsRegex("^added toxic latency_downstream to TCP proxy redis on " +
                                     Addr(node_) + ": config version 3 in "));
  EXPECT_THAT(add.out, HasSubstr("+ tcp_proxies[redis].toxics[latency_downstream]: "));
  ASSERT_EQ(Run({"toxic", "add", "redis", "-t", "bandwidth", "-a", "rate=100", "-a", "shared=true",
                 "--upstream", "-n", "slow_writes"})
                .code,
            0);
  ASSERT_EQ(
      Run({"toxic", "add", "redis", "-t", "slicer", "-a", "average_size=64", "-a", "delay=500"})
          .code,
      0);

  std::vector<Json> toxics = Field(Proxies().at(0), "toxics").items;
  ASSERT_EQ(toxics.size(), 3u);
  EXPECT_EQ(Field(toxics[0], "name").text, "latency_downstream");
  EXPECT_EQ(toxics[0].members.count("stream"), 0u);  // DOWNSTREAM, the default: not printed
  EXPECT_EQ(Number(Field(toxics[0], "toxicity")), 0.5);
  EXPECT_EQ(Field(Field(toxics[0], "latency"), "latency").text, "1s");
  EXPECT_EQ(Field(Field(toxics[0], "latency"), "jitter").text, "0.050s");
  EXPECT_EQ(Field(toxics[1], "name").text, "slow_writes");
  EXPECT_EQ(Field(toxics[1], "stream").text, "UPSTREAM");
  EXPECT_EQ(Number(Field(Field(toxics[1], "bandwidth"), "rate")), 100);
  EXPECT_TRUE(Field(Field(toxics[1], "bandwidth"), "shared").boolean);
  EXPECT_EQ(Field(Field(toxics[2], "slicer"), "delay").text, "0.000500s");  // µs

  Result list = Run({"toxic", "list", "redis"});
  ASSERT_EQ(list.code, 0) << list;
  EXPECT_THAT(list.out, ContainsRegex("^PROXY +TOXIC +TYPE +STREAM +TOXICITY +APPLIED +SKIPPED +"
                                      "ATTRIBUTES\n"));
  EXPECT_THAT(list.out, ContainsRegex("\nredis +latency_downstream +latency +downstream +0.5 +0 +"
                                      "0 +latency=1s jitter=50ms\n"));
  EXPECT_THAT(list.out, ContainsRegex("\nredis +slow_writes +bandwidth +upstream +1 +0 +0 +"
                                      "rate=100KB/s shared\n"));
  EXPECT_THAT(Run({"tcp", "list"}).out,
              HasSubstr(" latency_downstream,slow_writes,slicer_downstream\n"));

  Result update = Run({"toxic", "update", "redis", "-n", "latency_downstream", "-a",
                       "latency=250ms", "--toxicity", "1"});
  ASSERT_EQ(update.code, 0) << update;
  EXPECT_THAT(update.out,
              HasSubstr("  tcp_proxies[redis].toxics[latency_downstream].latency.latency: 1s -> "
                        "250ms\n"));
  toxics = Field(Proxies().at(0), "toxics").items;
  EXPECT_EQ(Field(Field(toxics[0], "latency"), "latency").text, "0.250s");
  EXPECT_EQ(Field(Field(toxics[0], "latency"), "jitter").text, "0.050s");  // kept
  EXPECT_EQ(Number(Field(toxics[0], "toxicity")), 1);

  Result remove = Run({"toxic", "remove", "redis", "-n", "slow_writes"});
  ASSERT_EQ(remove.code, 0) << remove;
  EXPECT_THAT(remove.out, HasSubstr("  - tcp_proxies[redis].toxics[slow_writes]: "));
  EXPECT_EQ(Field(Proxies().at(0), "toxics").items.size(), 2u);
}

TEST_F(ProxyctlTcpTest, DryRunShowsTheDiffAndChangesNothing) {
  Result dry =
      Run({"tcp", "add", "redis", "--listen", listen_, "--upstream", upstream_, "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry;
  EXPECT_THAT(dry.out, ContainsRegex("^dry run on " + Addr(node_) +
                                     ": at config version 1 this would change:\n  \\+ "
                                     "tcp_proxies\\[redis\\]"));
  EXPECT_EQ(Version(), "1\n");
  ASSERT_EQ(AddRedis().code, 0);
  Result toxic = Run({"toxic", "add", "redis", "-t", "down", "--dry-run"});
  ASSERT_EQ(toxic.code, 0) << toxic;
  EXPECT_THAT(toxic.out, HasSubstr("+ tcp_proxies[redis].toxics[down_downstream]"));
  EXPECT_EQ(Version(), "2\n");
}

// toxiproxy-cli's words for the same commands: create, delete.
TEST_F(ProxyctlTcpTest, ToxiproxyCliWordsAreAliases) {
  Result create = Run({"tcp", "create", "redis", "-l", listen_, "-u", upstream_});
  ASSERT_EQ(create.code, 0) << create;
  EXPECT_THAT(create.out, HasSubstr("added TCP proxy redis on "));
  ASSERT_EQ(Run({"toxic", "add", "redis", "-t", "timeout", "-a", "timeout=5000", "-u"}).code, 0);
  EXPECT_EQ(Field(Field(Field(Proxies().at(0), "toxics").items.at(0), "timeout"), "timeout").text,
            "5s");
  // toxiproxy-cli's own order, the proxy last, attributes comma-separated.
  Result ordered = Run({"toxic", "add", "-t", "latency", "-a", "latency=1000,jitter=5", "-n",
                        "name", "--downstream", "--tox", "0.5", "redis"});
  ASSERT_EQ(ordered.code, 0) << ordered;
  const Json latency = Field(Proxies().at(0), "toxics").items.at(1);
  EXPECT_EQ(Field(latency, "name").text, "name");
  EXPECT_EQ(Field(Field(latency, "latency"), "jitter").text, "0.005s");
  EXPECT_EQ(Number(Field(latency, "toxicity")), 0.5);
  Result toxic = Run({"toxic", "delete", "redis", "-n", "timeout_upstream"});
  ASSERT_EQ(toxic.code, 0) << toxic;
  EXPECT_THAT(toxic.out, HasSubstr("removed toxic timeout_upstream from TCP proxy redis on "));
  Result proxy = Run({"tcp", "delete", "redis"});
  ASSERT_EQ(proxy.code, 0) << proxy;
  EXPECT_TRUE(Proxies().empty());
}

TEST_F(ProxyctlTcpTest, WrongCallsSayWhatWasWrong) {
  ASSERT_EQ(AddRedis().code, 0);
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"tcp", "add", "redis", "--listen", FreeAddress(), "--upstream", upstream_},
       1,
       "proxyctl: a TCP proxy named \"redis\" exists; `tcp update` changes it, or remove it "
       "first\n"},
      {{"tcp", "remove", "redsi"},
       1,
       "proxyctl: no TCP proxy named \"redsi\"; did you mean \"redis\"?; proxies: redis\n"},
      {{"tcp", "add", "x", "--listen", "nope", "--upstream", upstream_},
       2,
       "proxyctl: --listen nope: must be HOST:PORT, e.g. 127.0.0.1:15432 or db:5432\n"},
      {{"tcp", "update", "redis"},
       2,
       "proxyctl: tcp update: nothing to change; give --listen, --upstream or "
       "--connect-timeout\n"},
      {{"toxic", "add", "redis", "-t", "latncy"},
       2,
       "proxyctl: -t latncy: no such toxic type; did you mean \"latency\"?; types: latency, "
       "bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down\n"},
      {{"toxic", "add", "redis", "-t", "latency", "-a", "latency=soon"},
       2,
       "proxyctl: -a latency=soon: latency must be a duration in ms like 1000, or with a unit "
       "like 250ms or 1.5s\n"},
      {{"toxic", "add", "redis", "-t", "timeout", "--upstream", "--downstream"},
       2,
       "proxyctl: --upstream and --downstream exclude each other: a toxic acts on one "
       "direction\n"},
      {{"toxic", "add", "redis", "-t", "down", "--toxicity", "1.5"},
       2,
       "proxyctl: --toxicity 1.5: must be a probability from 0 to 1, like 0.5\n"},
      {{"toxic", "update", "redis", "-n", "nope", "-a", "latency=5"},
       1,
       "proxyctl: TCP proxy \"redis\" has no toxic named \"nope\"; toxics: none\n"},
      {{"toxic", "update", "redis", "-n", "x", "-a", "jiter=5"},
       2,
       "proxyctl: -a jiter=5: no toxic has an attribute jiter; did you mean \"jitter\"?; "
       "attributes: latency, jitter, distribution, rate, shared, delay, timeout, "
       "average_size, size_variation, bytes\n"},
      {{"toxic", "list", "nope"}, 1, "proxyctl: no TCP proxy named \"nope\"; proxies: redis\n"},
  };
  for (const Case& c : cases) {
    Result result = Run(c.args);
    EXPECT_EQ(result.code, c.code) << c.args.at(1) << ": " << result;
    EXPECT_EQ(result.out, "") << result;
    EXPECT_EQ(result.err, c.err) << result;
  }
  EXPECT_EQ(Version(), "2\n");  // nothing was sent
  // The node's own checks: a duplicate toxic name is ours; a bad range is the node's, naming
  // the field.
  ASSERT_EQ(Run({"toxic", "add", "redis", "-t", "down"}).code, 0);
  Result taken = Run({"toxic", "add", "redis", "-t", "down"});
  EXPECT_EQ(taken.code, 1) << taken;
  EXPECT_THAT(taken.err, HasSubstr("has a toxic named \"down_downstream\""));
  Result range = Run({"toxic", "add", "redis", "-t", "slicer", "-a", "average_size=0"});
  EXPECT_EQ(range.code, 1) << range;
  EXPECT_EQ(range.err,
            "proxyctl: INVALID_ARGUMENT: tcp_proxies[redis].toxics[slicer_downstream]."
            "average_size: 0 is out of range [1, 1048576]\n");
}

TEST_F(ProxyctlTcpTest, ExpectedVersionGuardsEveryChange) {
  ASSERT_EQ(AddRedis().code, 0);  // version 2
  for (const std::vector<std::string>& change : std::vector<std::vector<std::string>>{
           {"tcp", "disable", "redis", "--expected-version", "1"},
           {"tcp", "remove", "redis", "--expected-version", "1"},
           {"toxic", "add", "redis", "-t", "down", "--expected-version", "1"}}) {
    Result stale = Run(change);
    EXPECT_EQ(stale.code, 1) << change.at(1) << ": " << stale;
    EXPECT_THAT(stale.err, HasSubstr("FAILED_PRECONDITION: expected_version 1 but the config is "
                                     "at version 2"));
  }
  EXPECT_EQ(Version(), "2\n");
  EXPECT_EQ(Run({"tcp", "disable", "redis", "--expected-version", "2"}).code, 0);
}

TEST_F(ProxyctlTcpTest, ConfigGetPastesIntoConfigSet) {
  ASSERT_EQ(AddRedis().code, 0);
  ASSERT_EQ(Run({"toxic", "add", "redis", "-t", "latency", "-a",
                 "distribution=lognormal:p50=5ms,p99=200ms"})
                .code,
            0);
  Result get = Run({"config", "get", "tcp_proxies"});
  ASSERT_EQ(get.code, 0) << get;
  EXPECT_THAT(get.out, ContainsRegex("^\\[\\{\"name\":\"redis\".*\"lognormal\".*\\]\n$"));

  // The other node runs on this machine too: the first one frees the proxy's address.
  ASSERT_EQ(Run({"tcp", "remove", "redis"}).code, 0);
  NodeProcess other;
  ASSERT_TRUE(other.Start({"--workers=1"}));
  const std::string value = get.out.substr(0, get.out.size() - 1);
  Result set = RunOn(other, {"config", "set", "tcp_proxies=" + value});
  ASSERT_EQ(set.code, 0) << set;
  EXPECT_EQ(RunOn(other, {"config", "get", "tcp_proxies"}).out, get.out);
  Result none = RunOn(other, {"config", "set", "tcp_proxies=none"});
  ASSERT_EQ(none.code, 0) << none;
  EXPECT_EQ(RunOn(other, {"config", "get", "tcp_proxies"}).out, "none\n");
  Result bad = RunOn(other, {"config", "set", "tcp_proxies=[{\"nam\":1}]"});
  EXPECT_EQ(bad.code, 2) << bad;
  EXPECT_THAT(bad.err, HasSubstr("proxyctl: tcp_proxies=[{\"nam\":1}]: not a list of TCP proxies"));
}

TEST(ProxyctlTcpFleetTest, AllRunsOnEveryNode) {
  NodeProcess first;
  NodeProcess second;
  ASSERT_TRUE(first.Start({"--workers=1"}));
  ASSERT_TRUE(second.Start({"--workers=1"}));
  ASSERT_EQ(RunOn(second, {"config", "set", "max_pending=5"}).code, 0);  // version 2 there
  const std::string both = Addr(first) + "," + Addr(second);
  // Port 0: each node binds a port of its own (both run on this machine).
  const std::string listen = "127.0.0.1:0";
  const std::string upstream = FreeAddress();

  // Sent to several nodes, a change asks first; without a terminal it needs --yes.
  Result unconfirmed = Proxyctl(
      {"--addr", both, "--all", "tcp", "add", "db", "--listen", listen, "--upstream", upstream});
  EXPECT_EQ(unconfirmed.code, 2) << unconfirmed;
  Result add = Proxyctl({"--addr", both, "--all", "--yes", "tcp", "add", "db", "--listen", listen,
                         "--upstream", upstream});
  ASSERT_EQ(add.code, 0) << add;
  EXPECT_THAT(add.out, ContainsRegex("^ADDR +RESULT +VERSION +APPLY_TIME +CHANGES\n"));
  EXPECT_THAT(add.out, ContainsRegex(Addr(first) + " +added TCP proxy db +2 +"));
  EXPECT_THAT(add.out, ContainsRegex(Addr(second) + " +added TCP proxy db +3 +"));

  Result toxic = Proxyctl({"--addr", both, "--all", "--yes", "toxic", "add", "db", "-t",
                           "reset_peer", "-a", "timeout=100"});
  ASSERT_EQ(toxic.code, 0) << toxic;
  Result list = Proxyctl({"--addr", both, "--all", "toxic", "list"});
  ASSERT_EQ(list.code, 0) << list;
  for (const NodeProcess* node : {&first, &second}) {
    EXPECT_THAT(list.out, ContainsRegex(Addr(*node) + " +db +reset_peer_downstream +reset_peer +"
                                                      "downstream +1 +0 +0 +timeout=100ms\n"));
  }
  Result tcp_list = Proxyctl({"--addr", both, "--all", "tcp", "list", "-o", "json"});
  std::optional<Json> parsed = ParseJson(tcp_list.out);
  ASSERT_TRUE(parsed) << tcp_list;
  ASSERT_EQ(parsed->items.size(), 2u);
}

}  // namespace
}  // namespace proxynode::testing
