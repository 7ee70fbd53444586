#include "cli/tcp_app.h"

namespace proxyctl {
namespace {

constexpr char kDryRunHelp[] =
    "Show what would change; change nothing (the node checks it as it would apply it)";

// --expected-version and --dry-run, which every change takes; marks the command as a change
// (asked first when sent to several nodes) unless it is a dry run.
void AddChangeFlags(CLI::App* command, TcpUpdateOptions& change, Leaves& leaves) {
  command->add_option("--expected-version", change.expected_version, kExpectedVersionHelp);
  command->add_flag("--dry-run", change.dry_run, kDryRunHelp);
  MarkChange(
      leaves, command, [](const Context&) { return std::string(); },
      [&change] { return !change.dry_run; });
}

CLI::App* AddProxyName(CLI::App* command, std::string& name) {
  command->add_option("name", name, "The TCP proxy's name")->type_name("NAME")->required();
  return command;
}

}  // namespace

void BuildTcpCommands(CLI::App& app, TcpFlags& flags, Leaves& leaves, CompletionHints& hints) {
  CLI::App* tcp = app.add_subcommand("tcp", "Add, list, change and remove TCP proxies");
  tcp->require_subcommand(1);

  TcpAddOptions& a = flags.add;
  CLI::App* add = AddLeaf(*tcp, "add",
                          "Add a TCP proxy: relay every connection to --listen to "
                          "--upstream",
                          leaves, {[&a](const Context* c) { return RunTcpAdd(*c, a); }});
  add->add_option("name", a.name, "The proxy's name: 1-64 of A-Z a-z 0-9 . _ -")
      ->type_name("NAME")
      ->required();
  add->add_option("-l,--listen", a.listen, "HOST:PORT to listen on")->required();
  add->add_option("-u,--upstream", a.upstream, "HOST:PORT to relay to")->required();
  add->add_flag("--disabled", a.disabled, "Add it disabled: no listener until `tcp enable`");
  add->add_option("--connect-timeout", a.connect_timeout,
                  "TCP connect to the upstream, e.g. 2s (node default 5s)");
  AddChangeFlags(add, a.change, leaves);
  add->alias("create");  // toxiproxy-cli's word
  add->footer(
      "Examples:\n"
      "  proxyctl tcp add redis --listen 127.0.0.1:16379 --upstream 127.0.0.1:6379\n"
      "  proxyctl tcp add pg --listen 0.0.0.0:15432 --upstream db:5432 --connect-timeout 2s\n"
      "Then: proxyctl toxic add redis -t latency -a latency=100 -a jitter=10");

  AddLeaf(*tcp, "list", "The TCP proxies: name, listen, upstream, enabled, toxics", leaves,
          {[](const Context* c) { return RunTcpList(*c); }})
      ->footer("-o json prints each proxy whole, toxics included.");

  CLI::App* remove =
      AddProxyName(AddLeaf(*tcp, "remove", "Remove a TCP proxy (its connections close)", leaves,
                           {[&flags](const Context* c) { return RunTcpRemove(*c, flags.remove); }}),
                   flags.remove.name);
  AddChangeFlags(remove, flags.remove.change, leaves);
  remove->alias("delete");
  CLI::App* enable = AddProxyName(
      AddLeaf(*tcp, "enable", "Enable a TCP proxy: it listens again", leaves,
              {[&flags](const Context* c) { return RunTcpEnable(*c, flags.enable, true); }}),
      flags.enable.name);
  AddChangeFlags(enable, flags.enable.change, leaves);
  CLI::App* disable = AddProxyName(
      AddLeaf(*tcp, "disable",
              "Disable a TCP proxy: its listener and connections close, its config is kept", leaves,
              {[&flags](const Context* c) { return RunTcpEnable(*c, flags.disable, false); }}),
      flags.disable.name);
  AddChangeFlags(disable, flags.disable.change, leaves);

  TcpUpdateFlags& u = flags.update;
  CLI::App* update =
      AddProxyName(AddLeaf(*tcp, "update", "Change a TCP proxy's addresses (its connections close)",
                           leaves, {[&u](const Context* c) { return RunTcpUpdate(*c, u); }}),
                   u.name);
  update->add_option("-l,--listen", u.listen, "New HOST:PORT to listen on");
  update->add_option("-u,--upstream", u.upstream, "New HOST:PORT to relay to");
  update->add_option("--connect-timeout", u.connect_timeout, "New upstream connect timeout");
  AddChangeFlags(update, u.change, leaves);
  update->footer("Example:\n  proxyctl tcp update redis --upstream 10.0.0.7:6379");
  hints.option_values["--connect-timeout"] = "500ms 1s 2s 5s 10s";
}

void BuildToxicCommands(CLI::App& app, TcpFlags& flags, Leaves& leaves, CompletionHints& hints) {
  CLI::App* toxic = app.add_subcommand("toxic",
                                       "Add, list, change and remove a TCP proxy's "
                                       "toxics (as toxiproxy-cli does)");
  toxic->require_subcommand(1);
  const auto add_proxy = [](CLI::App* command, std::string& proxy) {
    command->add_option("proxy", proxy, "The TCP proxy's name")->type_name("PROXY")->required();
  };
  const auto add_name = [](CLI::App* command, std::string& name, bool required) {
    CLI::Option* option =
        command->add_option("-n,--name,--toxicName", name, "The toxic's name")->type_name("NAME");
    if (required) option->required();
  };
  const auto add_toxicity = [](CLI::App* command, std::string& toxicity) {
    command->add_option("--toxicity,--tox", toxicity,
                        "Probability that it applies to a connection, 0-1 (default 1)");
  };

  ToxicAddOptions& a = flags.toxic_add;
  CLI::App* add = AddLeaf(*toxic, "add", "Add a toxic to a TCP proxy", leaves,
                          {[&a](const Context* c) { return RunToxicAdd(*c, a); }});
  add_proxy(add, a.proxy);
  add->add_option("-t,--type", a.spec.type,
                  "latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, "
                  "down")
      ->required();
  add_name(add, a.spec.name, false);
  AddRepeatable(add, "-a,--attribute", a.spec.attributes, "KEY=VALUE; repeatable")
      ->type_name("KEY=VALUE");
  add->add_flag("-u,--upstream", a.spec.upstream, "Act on client -> upstream bytes");
  add->add_flag("-d,--downstream", a.downstream, "Act on upstream -> client bytes (the default)");
  add_toxicity(add, a.spec.toxicity);
  AddChangeFlags(add, a.change, leaves);
  add->footer(
      "Attributes (Toxiproxy's names and units; a duration may carry its unit, 250ms):\n"
      "  latency     latency=MS jitter=MS, or distribution=D (a `fault add --delay` form)\n"
      "  bandwidth   rate=KB/s (1 KB = 1000 bytes) shared=true (one rate for the proxy)\n"
      "  slow_close  delay=MS\n"
      "  timeout     timeout=MS (0: never closes)\n"
      "  reset_peer  timeout=MS\n"
      "  slicer      average_size=BYTES size_variation=BYTES delay=US\n"
      "  limit_data  bytes=BYTES\n"
      "  down        (none): the proxy refuses the connections it hits\n"
      "The default name is TYPE_STREAM, e.g. latency_downstream.\nExamples:\n"
      "  proxyctl toxic add redis -t latency -a latency=1000 -a jitter=50 --toxicity 0.5\n"
      "  proxyctl toxic add redis -t bandwidth -a rate=100 --upstream -n slow_writes\n"
      "  proxyctl toxic add pg -t latency -a distribution=lognormal:p50=5ms,p99=200ms");

  ToxicUpdateOptions& u = flags.toxic_update;
  CLI::App* update = AddLeaf(*toxic, "update", "Change a toxic's attributes or toxicity", leaves,
                             {[&u](const Context* c) { return RunToxicUpdate(*c, u); }});
  add_proxy(update, u.proxy);
  add_name(update, u.name, true);
  AddRepeatable(update, "-a,--attribute", u.attributes, "KEY=VALUE; repeatable")
      ->type_name("KEY=VALUE");
  add_toxicity(update, u.toxicity);
  AddChangeFlags(update, u.change, leaves);
  update->footer("Example:\n  proxyctl toxic update redis -n latency_downstream -a latency=50");

  ToxicRemoveOptions& r = flags.toxic_remove;
  CLI::App* remove = AddLeaf(*toxic, "remove", "Remove a toxic from a TCP proxy", leaves,
                             {[&r](const Context* c) { return RunToxicRemove(*c, r); }});
  add_proxy(remove, r.proxy);
  add_name(remove, r.name, true);
  AddChangeFlags(remove, r.change, leaves);
  remove->alias("delete");

  CLI::App* list =
      AddLeaf(*toxic, "list", "The toxics of every TCP proxy, or of one, with their counters",
              leaves, {[&flags](const Context* c) { return RunToxicList(*c, flags.toxic_list); }});
  list->add_option("proxy", flags.toxic_list.proxy, "Only this proxy's")->type_name("PROXY");
  list->footer(
      "APPLIED / SKIPPED: connections the toxicity draw hit / spared.\n-o json prints each "
      "toxic and its counters.");

  std::string types;
  for (const std::string& type : ToxicTypes()) {
    if (!types.empty()) types += ' ';  // not ("" or " ") + type: GCC 12's -Wrestrict
    types += type;
  }
  hints.option_values["-t"] = hints.option_values["--type"] = types;
  hints.option_values["-a"] = hints.option_values["--attribute"] =
      "latency= jitter= distribution= rate= shared= delay= timeout= average_size= "
      "size_variation= bytes=";
}

}  // namespace proxyctl
