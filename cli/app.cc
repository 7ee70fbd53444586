#include "cli/app.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>

// GCC 12 reports a false -Wnull-dereference inside CLI11's inlined string helpers
// (CLI::detail::split); the suppression covers CLI11's code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "CLI/CLI.hpp"
#pragma GCC diagnostic pop
#include "cli/command_tree.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/config_keys.h"
#include "cli/confirm.h"
#include "cli/fleet.h"
#include "cli/suggest.h"
#include "cli/tcp_app.h"
#include "cli/usage_message.h"
#include "grpc/support/log.h"

namespace proxyctl {
namespace {

// Everything the command line can set.
struct Flags {
  GlobalOptions global;
  ConnectionsOptions connections;
  TopOptions top;
  VersionOptions version;
  ConfigGetOptions config_get;
  ConfigSetOptions config_set;
  ConfigApplyOptions config_apply;
  ConfigApplyOptions config_diff;
  ConfigRollbackOptions config_rollback;
  FaultAddOptions fault_add;
  FaultRemoveOptions fault_remove;
  FaultClearOptions fault_clear;
  TcpFlags tcp;
  std::string shell;
  bool yes = false;  // --yes: confirmed beforehand (confirm.h)
};

constexpr char kConnectionSorts[] = "age requests bytes_in bytes_out worker";

constexpr char kMatchGroup[] = "Match (all given must hold)";
constexpr char kFaultGroup[] = "Faults";

void AddFaultMatchFlags(CLI::App* add, FaultAddOptions& o) {
  add->add_option("--route", o.route, "Requests the route with this prefix serves")
      ->group(kMatchGroup);
  AddRepeatable(add, "--method", o.methods, "Any of these methods: GET or GET,POST")
      ->group(kMatchGroup);
  add->add_option("--path", o.path, "The request target starts with this")->group(kMatchGroup);
  add->add_option("--exact-path", o.exact_path, "The path (before '?') is this")
      ->group(kMatchGroup);
  AddRepeatable(add, "--header", o.headers,
                "NAME (present), NAME=VALUE (exact) or 'NAME=PREFIX*'; repeatable, all hold")
      ->group(kMatchGroup);
  AddRepeatable(add, "--client", o.clients,
                "Client address in CIDR, e.g. 10.0.0.0/8; repeatable, any holds")
      ->group(kMatchGroup);
  add->add_option("--upstream", o.upstream, "HOST:PORT the serving route proxies to")
      ->group(kMatchGroup);
}

void AddFaultFlags(CLI::App* add, FaultAddOptions& o, CompletionHints& hints) {
  add->add_option("--delay", o.delay,
                  "250ms, fixed:250ms, uniform:10ms-50ms, normal:mean=50ms,stddev=10ms, "
                  "lognormal:p50=40ms,p99=900ms, pareto:scale=10ms,shape=1.5,cap=2s, "
                  "empirical:p50=20ms,p90=80ms,p99=400ms,p99.9=2s")
      ->group(kFaultGroup);
  add->add_option("--delay-on", o.delay_on,
                  "request (default): before the request is served; head: before the response "
                  "head; first-byte: before the first body byte")
      ->check(CLI::IsMember({"request", "head", "first-byte"}))
      ->group(kFaultGroup);
  add->add_option("--abort", o.abort,
                  "503 (a status), reset, reset:after=BYTES, close, cut, cut:after=BYTES, silent")
      ->group(kFaultGroup);
  add->add_option("--abort-body", o.abort_body, "Body of a status abort")->group(kFaultGroup);
  add->add_option("--abort-grpc-status", o.abort_grpc_status,
                  "With a status abort: gRPC calls over HTTP/2 end with this grpc-status "
                  "instead, e.g. 14 or UNAVAILABLE")
      ->group(kFaultGroup);
  add->add_option("--abort-grpc-message", o.abort_grpc_message,
                  "The grpc-message that goes with --abort-grpc-status")
      ->group(kFaultGroup);
  AddRepeatable(add, "--abort-header", o.abort_headers,
                "'Name: value' of a status abort; repeatable")
      ->group(kFaultGroup);
  add->add_option("--bandwidth", o.bandwidth, "Bytes per second: 64KiB, 1MB/s, 512B")
      ->group(kFaultGroup);
  add->add_option("--bandwidth-scope", o.bandwidth_scope,
                  "response (default): each response; connection: the rest of the "
                  "connection; rule: shared by every request the rule hits")
      ->check(CLI::IsMember({"response", "connection", "rule"}))
      ->group(kFaultGroup);
  add->add_flag("--header-triggers", o.header_triggers,
                "Let requests set the faults with x-proxynode-fault-delay, -abort and "
                "-throughput")
      ->group(kFaultGroup);
  add->add_option("--trigger-max-delay", o.trigger_max_delay,
                  "Largest delay a trigger header may ask for (node default 10s)")
      ->group(kFaultGroup);
  hints.option_values["--delay-on"] = "request head first-byte";
  hints.option_values["--bandwidth-scope"] = "response connection rule";
  hints.option_values["--abort"] = "503 500 429 reset reset:after= close cut cut:after= silent";
  hints.option_values["--delay"] =
      "fixed: uniform: normal:mean= lognormal:p50= pareto:scale= empirical:p50=";
}

void BuildFaultCommands(CLI::App& app, Flags& flags, Leaves& leaves, CompletionHints& hints) {
  CLI::App* fault = app.add_subcommand("fault", "Add, list and remove fault rules");
  fault->require_subcommand(1);
  CLI::App* add =
      AddLeaf(*fault, "add", "Add a fault rule (after the node's others: the first that hits wins)",
              leaves, {[&flags](const Context* c) { return RunFaultAdd(*c, flags.fault_add); }});
  FaultAddOptions& o = flags.fault_add;
  add->add_option("name", o.name, "The rule's name: 1-64 of A-Z a-z 0-9 . _ -")
      ->type_name("NAME")
      ->required();
  AddFaultMatchFlags(add, o);
  AddFaultFlags(add, o, hints);
  add->add_option("--percent", o.percent,
                  "Share of matching requests hit, e.g. 25 or 0.5 "
                  "(default 100)");
  add->add_option("--for", o.for_duration, "The node removes the rule after this, e.g. 10m");
  add->add_option("--until", o.until, "The node removes the rule at this RFC 3339 time");
  add->add_flag("--tag", o.tag, "Responses hit say so: x-proxynode-fault: NAME");
  add->add_flag("--replace", o.replace, "Replace the rule of this name, in its place");
  add->add_option("--expected-version", o.expected_version, kExpectedVersionHelp);
  add->footer(
      "Examples:\n"
      "  proxyctl fault add slow-api --path /api/ --delay lognormal:p50=40ms,p99=900ms "
      "--percent 25 --for 10m\n"
      "  proxyctl fault add flaky --header x-user=test --abort 503 --percent 2\n"
      "  proxyctl fault add slow-client --client 10.0.0.0/8 --bandwidth 64KiB "
      "--bandwidth-scope connection\n"
      "The node checks the values' ranges and refuses a rule naming the field, e.g. "
      "faults[0].abort.status.");

  AddLeaf(*fault, "list", "The rules, with hits (fired/matched) and time left", leaves,
          {[](const Context* c) { return RunFaultList(*c); }})
      ->footer(
          "HITS: requests the rule fired on / requests it matched. LEFT: time until the node "
          "removes it.\n-o json prints each rule and its counters.");

  CLI::App* remove =
      AddLeaf(*fault, "remove", "Remove fault rules by name", leaves,
              {[&flags](const Context* c) { return RunFaultRemove(*c, flags.fault_remove); }});
  remove->add_option("names", flags.fault_remove.names, "The rules' names")->required();
  remove->add_option("--expected-version", flags.fault_remove.expected_version,
                     kExpectedVersionHelp);

  CLI::App* clear =
      AddLeaf(*fault, "clear", "Remove every fault rule", leaves,
              {[&flags](const Context* c) { return RunFaultClear(*c, flags.fault_clear); }});
  clear->add_option("--expected-version", flags.fault_clear.expected_version, kExpectedVersionHelp);
  for (const CLI::App* change : {add, remove, clear}) MarkChange(leaves, change);
}

void BuildCommands(CLI::App& app, Flags& flags, Leaves& leaves, CompletionHints& hints) {
  app.add_option("--addr", flags.global.addr,
                 "Node control address host:port (port defaults to 9090); a comma-separated "
                 "list or a name resolving to several addresses needs --all")
      ->envname("PROXYCTL_ADDR")
      ->capture_default_str();
  app.add_option("--timeout", flags.global.timeout,
                 "How long to wait for a node to answer, e.g. 500ms, 3s")
      ->capture_default_str();
  app.add_option("-o,--output", flags.global.output, "Output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_flag("-y,--yes", flags.yes,
               "Confirm beforehand what would ask first: a drain, a change of workers, a "
               "change sent to several nodes");
  app.add_flag("--all", flags.global.all,
               "Run on every node --addr names or resolves to (one row per node)");
  hints.option_values["-o"] = hints.option_values["--output"] = "table json yaml";
  app.add_option("--tls_ca", flags.global.tls_ca,
                 "Connect with TLS and verify the node's certificate with this PEM CA file")
      ->envname("PROXYCTL_TLS_CA");
  app.add_option("--tls_cert", flags.global.tls_cert,
                 "PEM client certificate, for nodes that require one (with --tls_key)")
      ->envname("PROXYCTL_TLS_CERT");
  app.add_option("--tls_key", flags.global.tls_key, "PEM private key of --tls_cert")
      ->envname("PROXYCTL_TLS_KEY");
  app.add_option("--tls_server_name", flags.global.tls_server_name,
                 "The name to verify in the node's certificate instead of the --addr host "
                 "(e.g. with --all, which connects to each IP address)")
      ->envname("PROXYCTL_TLS_SERVER_NAME");
  for (const char* file_flag : {"--tls_ca", "--tls_cert", "--tls_key"}) {
    hints.option_values[file_flag] = "@file";
  }
  // The global flags are accepted after a command too (proxyctl status -o json).
  app.fallthrough();

  AddLeaf(app, "status", "Version, uptime, workers, connections and requests/s", leaves,
          {[](const Context* c) { return RunStatus(*c); }})
      ->footer(
          "Requests/s is measured over 0.5 s.\nExamples:\n  proxyctl status\n"
          "  proxyctl --addr proxynode-headless:9090 --all status");

  CLI::App* config = app.add_subcommand("config", "Read or change the node's configuration");
  config->require_subcommand(1);
  CLI::App* get =
      AddLeaf(*config, "get", "Show the configuration, or one key's value", leaves,
              {[&flags](const Context* c) { return RunConfigGet(*c, flags.config_get); }});
  get->add_option("key", flags.config_get.key, "Only this key (e.g. delay, or version)");
  get->footer(
      "Examples:\n  proxyctl config get\n  proxyctl config get delay\n"
      "  proxyctl config get -o json > node.json");
  CLI::App* set =
      AddLeaf(*config, "set", "Change keys: key=value ...", leaves,
              {[&flags](const Context* c) { return RunConfigSet(*c, flags.config_set); }});
  set->add_option("assignments", flags.config_set.assignments, "key=value pairs")
      ->type_name("KEY=VALUE");
  set->add_option("--expected-version", flags.config_set.expected_version,
                  "Apply only if the node's config version is this (else refused, exit 1)");
  set->add_flag("--dry-run", flags.config_set.dry_run,
                "Show what would change; change nothing (the node checks it as it would apply "
                "it)");
  std::string key_help = "Keys:\n";
  for (const ConfigKey& key : ConfigKeys()) {
    key_help += "  " + std::string(key.name) + std::string(30 - std::string(key.name).size(), ' ') +
                key.allowed + "\n";
  }
  set->footer(key_help +
              "Durations: ns, us, ms, s, m, h (250ms, 1.5s, 1m30s). Sizes: 8192, 16KiB, 1MiB, 1k "
              "(k/M/G decimal, Ki/Mi/Gi binary).\nThe node checks ranges and refuses the whole "
              "update if any value is out of range.\nExamples:\n"
              "  proxyctl config set delay=250ms workers=3\n"
              "  proxyctl config set --expected-version 7 rate_limit=1000\n"
              "  proxyctl config set upstream=10.0.0.1:8080,10.0.0.2:8080 delay=0s\n"
              "  proxyctl config set 'routes=[{\"prefix\":\"/api/\",\"action\":\"PROXY\","
              "\"upstreams\":[\"10.0.0.1:8080\"],\"delay\":\"0.2s\",\"delayPercent\":10}]'");
  CLI::App* apply =
      AddLeaf(*config, "apply", "Make the node's config the file's (text format or JSON)", leaves,
              {[&flags](const Context* c) { return RunConfigApply(*c, flags.config_apply); }});
  apply->add_option("-f,--file", flags.config_apply.file, "The file; - reads stdin")->required();
  apply->add_option("--expected-version", flags.config_apply.expected_version,
                    "Apply only if the node's config version is this (else refused, exit 1)");
  apply->add_flag("--dry-run", flags.config_apply.dry_run,
                  "Show what would change; change nothing");
  apply->add_flag("--merge", flags.config_apply.merge,
                  "Change only the fields the file has; keep the others");
  apply->footer(
      "Declarative: afterwards the node's config equals the file. A field the file leaves out "
      "returns to its default (built in, or the flag the node started with), and leaving out "
      "routes or faults clears them; --merge changes only what the file has. A \"version\" "
      "field is ignored. The diff is printed.\nExamples:\n"
      "  proxyctl config diff -f node.textproto    # what apply would change\n"
      "  proxyctl config apply -f node.textproto   # delay { nanos: 250000000 } workers: 4\n"
      "  proxyctl config apply --merge -f node.json   # {\"delay\": \"0.250s\"}");
  CLI::App* diff =
      AddLeaf(*config, "diff", "What `config apply -f FILE` would change, field by field", leaves,
              {[&flags](const Context* c) { return RunConfigDiff(*c, flags.config_diff); }});
  diff->add_option("-f,--file", flags.config_diff.file, "The file; - reads stdin")->required();
  diff->add_flag("--merge", flags.config_diff.merge, "As `apply --merge` would apply it");
  diff->footer(
      "The node checks the file as it would apply it and changes nothing. Exit 0 whether or not "
      "there are differences; 1 when the node would refuse the file.\nExample:\n"
      "  proxyctl config diff -f node.textproto");
  AddLeaf(*config, "history", "The last 32 config versions: when, from where, what changed", leaves,
          {[](const Context* c) { return RunConfigHistory(*c); }})
      ->footer("-o json prints each entry whole.\nExample:\n  proxyctl config history");
  CLI::App* rollback = AddLeaf(
      *config, "rollback", "Apply an earlier config version again, as a new version", leaves,
      {[&flags](const Context* c) { return RunConfigRollback(*c, flags.config_rollback); }});
  rollback->add_option("--to", flags.config_rollback.to_version,
                       "The version to restore (default: the one before the running version)");
  rollback->add_option("--expected-version", flags.config_rollback.expected_version,
                       "Apply only if the node's config version is this (else refused, exit 1)");
  rollback->add_flag("--dry-run", flags.config_rollback.dry_run,
                     "Show what would change; change nothing");
  rollback->footer(
      "Fault rules whose time has passed are not brought back.\nExamples:\n"
      "  proxyctl config rollback\n  proxyctl config rollback --to 3 --expected-version 7");
  hints.option_values["-f"] = hints.option_values["--file"] = "@file";
  std::string key_words, key_assignments;
  for (const ConfigKey& key : ConfigKeys()) {
    key_words += std::string(" ") + key.name;
    key_assignments += (key_assignments.empty() ? "" : " ") + std::string(key.name) + "=";
  }
  hints.positional_words["config get"] = "version" + key_words;
  hints.positional_words["config set"] = key_assignments;
  hints.no_space_paths.insert("config set");

  BuildFaultCommands(app, flags, leaves, hints);
  BuildTcpCommands(app, flags.tcp, leaves, hints);
  BuildToxicCommands(app, flags.tcp, leaves, hints);

  AddLeaf(app, "stats", "Counters, rates, latency percentiles and per-worker figures", leaves,
          {[](const Context* c) { return RunStats(*c); }})
      ->footer("Rates are measured over 0.5 s. -o json prints the node's Stats message.");

  CLI::App* top = AddLeaf(app, "top", "Live view of one node, redrawn every --interval", leaves,
                          {[&flags](const Context* c) { return RunTop(*c, flags.top); }});
  top->add_option("--interval", flags.top.interval, "Time between updates (100ms-1h)")
      ->capture_default_str();
  top->add_option("--iterations", flags.top.iterations,
                  "Stop after this many updates (0 = until Ctrl-C)")
      ->capture_default_str();

  CLI::App* connections =
      AddLeaf(app, "connections", "List open connections", leaves,
              {[&flags](const Context* c) { return RunConnections(*c, flags.connections); }});
  connections
      ->add_option("--sort", flags.connections.sort,
                   "Order: age, requests, bytes_in, bytes_out (largest first) or worker")
      ->check(CLI::IsMember({"age", "requests", "bytes_in", "bytes_out", "worker"}))
      ->capture_default_str();
  connections->add_option("--limit", flags.connections.limit, "At most this many rows (0 = all)")
      ->capture_default_str();
  hints.option_values["--sort"] = kConnectionSorts;

  CLI::App* drain = AddLeaf(app, "drain", "Drain the node: stop accepting, finish requests, exit",
                            leaves, {[](const Context* c) { return RunDrain(*c); }});
  drain->footer("Asks first on a terminal; elsewhere it needs --yes.");
  MarkChange(leaves, drain, [](const Context&) { return std::string("drain"); });
  MarkChange(
      leaves, set,
      [&flags](const Context&) {
        // A command line that does not parse is reported as such, not confirmed first.
        if (!ParseAssignments(flags.config_set.assignments).ok()) return std::string();
        for (const std::string& assignment : flags.config_set.assignments) {
          const ConfigKey* key = FindConfigKey(assignment.substr(0, assignment.find('=')));
          if (key != nullptr && std::string(key->name) == "workers" && !flags.config_set.dry_run) {
            return std::string("change the worker count of");
          }
        }
        return std::string();
      },
      [&flags] {
        return !flags.config_set.dry_run && ParseAssignments(flags.config_set.assignments).ok();
      });
  // Whether a file or an earlier version changes the worker count is the node's to say: a
  // dry run asks it first.
  static constexpr char kWorkerRisk[] = "change the worker count of";
  MarkChange(
      leaves, apply,
      [&flags](const Context& c) {
        return !flags.config_apply.dry_run && ApplyChangesWorkers(c, flags.config_apply)
                   ? std::string(kWorkerRisk)
                   : std::string();
      },
      [&flags] { return !flags.config_apply.dry_run; });
  MarkChange(
      leaves, rollback,
      [&flags](const Context& c) {
        return !flags.config_rollback.dry_run && RollbackChangesWorkers(c, flags.config_rollback)
                   ? std::string(kWorkerRisk)
                   : std::string();
      },
      [&flags] { return !flags.config_rollback.dry_run; });

  CLI::App* version = AddLeaf(
      app, "version",
      "proxyctl's version and the node's (build, config version, uptime); exit 3 when the node "
      "cannot be reached",
      leaves,
      {[](const Context* c) { return RunVersion(c); },
       [&flags] { return !flags.version.client_only; }});
  version->add_flag("--client", flags.version.client_only, "Only proxyctl's version; no node");

  CLI::App* completion = AddLeaf(app, "completion", "Print a shell completion script", leaves,
                                 {[&app, &hints](const Context*) {
                                    PrintOut(BashCompletionScript(app, hints));
                                    return kExitOk;
                                  },
                                  [] { return false; }});
  completion->add_option("shell", flags.shell, "The shell (bash)")
      ->check(CLI::IsMember({"bash"}))
      ->required();
  completion->footer(
      "Examples:\n  source <(proxyctl completion bash)\n"
      "  proxyctl completion bash > ~/.local/share/bash-completion/completions/proxyctl");
  hints.positional_words["completion"] = "bash";
}

}  // namespace

int RunMain(int argc, char** argv) {
  // gRPC logs connection failures on stderr; proxyctl reports them itself, on one line.
  if (std::getenv("PROXYCTL_DEBUG") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  CLI::App app("proxyctl: control proxynode nodes over their gRPC control API.", "proxyctl");
  app.set_version_flag("--version", std::string("proxyctl ") + ClientVersion());
  app.require_subcommand(0, 1);
  app.footer(
      "Exit codes: 0 ok, 1 refused by the node, 2 usage error, 3 node unreachable.\n"
      "Run 'proxyctl COMMAND --help' for a command's flags.");
  Flags flags;
  Leaves leaves;
  CompletionHints hints;
  BuildCommands(app, flags, leaves, hints);

  // Every flag accepts '-' and '_' alike in its name: --tls-ca, --expected_version.
  std::vector<std::string> known_flags;
  CollectLongFlags(&app, known_flags);
  std::vector<std::string> spelled;
  for (int i = 0; i < argc; ++i) spelled.push_back(CanonicalFlagSpelling(argv[i], known_flags));
  std::vector<char*> args;
  for (std::string& arg : spelled) args.push_back(arg.data());

  try {
    app.parse(argc, args.data());
  } catch (const CLI::Success& success) {
    return app.exit(success);  // --help, --version: printed on stdout, exit 0
  } catch (const CLI::ParseError& error) {
    PrintError(UsageMessage(error, app, spelled));
    return kExitUsage;
  }

  CLI::App* chosen = Deepest(&app);
  auto leaf = leaves.find(chosen);
  if (leaf == leaves.end()) {  // only the root: every other command requires a subcommand
    if (argc > 1) {
      PrintError("a command is needed: " + SubcommandNames(&app) + " (see 'proxyctl --help')");
      return kExitUsage;
    }
    std::cout << app.help();  // no arguments at all: the overview, as kubectl does
    return kExitOk;
  }
  if (!leaf->second.needs_node()) return leaf->second.run(nullptr);
  Context context;
  if (Outcome resolved = ResolveContext(flags.global, ResolveWithGetaddrinfo, &context);
      !resolved.ok()) {
    PrintError(resolved.error);
    return resolved.exit_code;
  }
  const std::string what =
      DescribeRisk(leaf->second.risk(context), leaf->second.changes(), context.addresses);
  const bool interactive = isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1;
  if (Outcome confirmed = Confirm(what, flags.yes, interactive, std::cin, std::cerr);
      !confirmed.ok()) {
    PrintError(confirmed.error);
    return confirmed.exit_code;
  }
  return leaf->second.run(&context);
}

}  // namespace proxyctl
