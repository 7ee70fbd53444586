#include "controlplane/config_pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/config_audit.h"
#include "controlplane/config_diff.h"
#include "controlplane/config_translator.h"
#include "controlplane/json_log.h"

namespace proxynode {
namespace {

bool IsExpired(const FaultRule& rule, int64_t now) {
  return rule.expires_at_unix_nanos != 0 && rule.expires_at_unix_nanos <= now;
}

// Each source has always had its own wording: a gRPC client is told what to do instead, the
// config file's log line says the running config stays.
std::string DrainRefusal(ConfigSource source) {
  if (source == ConfigSource::kGrpc) {
    return "the node is draining and will exit; change the config of the nodes that stay";
  }
  return "the node is draining; the config stays as it is";
}

// The earliest expiry among the fault rules (wall clock, ns since the epoch); 0: none.
int64_t NextFaultExpiry(const NodeConfig& config) {
  int64_t next = 0;
  for (const FaultRule& rule : config.faults) {
    if (rule.expires_at_unix_nanos != 0 && (next == 0 || rule.expires_at_unix_nanos < next)) {
      next = rule.expires_at_unix_nanos;
    }
  }
  return next;
}

absl::Status ValidateAndResolve(NodeConfig& config, ConfigPipeline::Resolver& resolve) {
  if (absl::Status valid = ValidateConfig(config); !valid.ok()) {
    return valid;
  }
  return resolve(config);
}

}  // namespace

absl::StatusOr<NodeConfig> ConfigPipeline::PrepareStartupConfig(NodeConfig config,
                                                                Resolver resolve) {
  config.version = kStartupVersion;
  if (absl::Status status = ValidateAndResolve(config, resolve); !status.ok()) {
    return status;
  }
  return config;
}

ConfigPipeline::ConfigPipeline(Dataplane& dataplane, Resolver resolve)
    : dataplane_(dataplane), resolve_(std::move(resolve)) {
  history_.Record(ConfigHistoryEntry{.version = dataplane_.config()->version,
                                     .applied_unix_nanos = RealtimeNanos(),
                                     .source = ConfigSource::kStartup,
                                     .origin = "start-up",
                                     .identity = "",
                                     .restored_version = 0,
                                     .diff = {},
                                     .config = dataplane_.config()});
  thread_ = std::thread([this] { Loop(); });
}

ConfigPipeline::~ConfigPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ConfigPipeline::Submit(ConfigChange change, Done done) {
  Queued queued{std::move(change), std::move(done), MonotonicNow()};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(queued));
      wake_.notify_one();
      return;
    }
  }
  queued.done(absl::UnavailableError("the node is stopping; the config stays as it is"));
}

ConfigOutcome ConfigPipeline::Apply(ConfigChange change) {
  assert(std::this_thread::get_id() != thread_.get_id());
  // The callback owns the promise: the last worker may still be inside set_value when this
  // thread wakes and returns.
  auto outcome = std::make_shared<std::promise<ConfigOutcome>>();
  std::future<ConfigOutcome> ready = outcome->get_future();
  Submit(std::move(change),
         [outcome](ConfigOutcome result) mutable { outcome->set_value(std::move(result)); });
  return ready.get();
}

void ConfigPipeline::Loop() {
  pthread_setname_np(pthread_self(), "config");
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const auto has_work = [this] { return stopping_ || !queue_.empty(); };
    const int64_t expiry = NextFaultExpiry(*dataplane_.config());
    if (expiry == 0) {
      wake_.wait(lock, has_work);
    } else {
      // The wall clock decides expiry; a waiting thread sleeps on the steady clock, so the
      // wait is recomputed whenever it wakes.
      const Nanos wait = std::max<Nanos>(std::max<Nanos>(0, expiry - RealtimeNanos()),
                                         expiry_retry_at_ - MonotonicNow());
      if (wait > 0) {
        wake_.wait_for(lock, std::chrono::nanoseconds(wait), has_work);
      }
    }
    if (stopping_) {
      break;
    }
    Queued next;
    if (!queue_.empty()) {
      next = std::move(queue_.front());
      queue_.pop_front();
    } else if (expiry != 0 && RealtimeNanos() >= expiry && MonotonicNow() >= expiry_retry_at_) {
      next = ExpiryChange();
    } else {
      continue;
    }
    lock.unlock();
    Process(std::move(next));
    lock.lock();
  }
  // Stopping: what is still queued is refused, so every caller hears back exactly once.
  std::deque<Queued> left = std::move(queue_);
  queue_.clear();
  lock.unlock();
  for (Queued& queued : left) {
    queued.done(absl::UnavailableError("the node is stopping; the config stays as it is"));
  }
}

ConfigPipeline::Queued ConfigPipeline::ExpiryChange() {
  const int64_t now = RealtimeNanos();
  std::string names;
  for (const FaultRule& rule : dataplane_.config()->faults) {
    if (IsExpired(rule, now)) {
      absl::StrAppend(&names, names.empty() ? "" : ",", rule.name);
    }
  }
  ConfigChange change;
  change.source = ConfigSource::kExpiry;
  change.origin = "fault rule expiry";
  change.update = ExpireFaults{.now_unix_nanos = now};
  auto done = [this, names](ConfigOutcome outcome) {
    if (outcome.ok()) {
      if (outcome->changed) {
        LogInfo("fault rules expired and removed", {{"rules", names},
                                                    {"version", outcome->config->version},
                                                    {"diff", RawJson{DiffToJson(outcome->diff)}}});
      }
      return;
    }
    expiry_retry_at_ = MonotonicNow() + kSecond;  // e.g. draining: the workers skip them anyway
    LogWarning("fault rules expired but stay in the config",
               {{"rules", names}, {"error", std::string(outcome.status().message())}});
  };
  return Queued{std::move(change), std::move(done), MonotonicNow()};
}

void ConfigPipeline::Process(Queued queued) {
  const ConfigSnapshotPtr running = dataplane_.config();
  const ConfigChange& change = queued.change;
  const bool audited = change.source == ConfigSource::kGrpc ||
                       change.source == ConfigSource::kRollback ||
                       change.source == ConfigSource::kToxiproxyApi;
  absl::StatusOr<std::optional<NodeConfig>> next = Check(change, *running);
  if (!next.ok()) {
    if (audited) {
      AuditRefused(change, next.status(), running->version);
    }
    // Moved, not copied: a copy would share the status's reference count with `done`'s
    // thread, which Debian's uninstrumented Abseil hides from TSan.
    queued.done(std::move(next).status());
    return;
  }
  ConfigResult result;
  result.config = running;
  result.dry_run = change.dry_run;
  if (const auto* rollback = std::get_if<RollbackTo>(&change.update)) {
    result.restored_version = rollback->version;
  }
  if (!next->has_value()) {
    if (audited) {
      AuditApplied(change, result, running->version);
    }
    queued.done(std::move(result));
    return;
  }
  result.changed = true;
  result.diff = DiffConfigs(ToProto(*running), ToProto(**next));
  if (change.dry_run) {
    result.config = std::make_shared<const ConfigSnapshot>(std::move(**next));
    AuditApplied(change, result, running->version);
    queued.done(std::move(result));
    return;
  }
  // The version moves only here, on this thread, right before the publish that makes it the
  // running one: the next change already sees it.
  (*next)->version = running->version + 1;
  result.config = std::make_shared<const ConfigSnapshot>(std::move(**next));
  Record(change, result);
  if (audited) {
    AuditApplied(change, result, result.config->version);
  }
  ConfigSnapshotPtr snapshot = result.config;
  dataplane_.PublishConfig(snapshot, [result = std::move(result), submitted = queued.submitted,
                                      done = std::move(queued.done)]() mutable {
    result.apply_time = MonotonicNow() - submitted;
    done(std::move(result));
  });
}

void ConfigPipeline::Record(const ConfigChange& change, const ConfigResult& result) {
  history_.Record(ConfigHistoryEntry{.version = result.config->version,
                                     .applied_unix_nanos = RealtimeNanos(),
                                     .source = change.source,
                                     .origin = change.origin,
                                     .identity = change.identity,
                                     .restored_version = result.restored_version,
                                     .diff = result.diff,
                                     .config = result.config});
}

absl::StatusOr<NodeConfig> ConfigPipeline::Candidate(const ConfigChange& change,
                                                     const ConfigSnapshot& running) {
  if (const auto* patch = std::get_if<FieldMaskUpdate>(&change.update)) {
    return ApplyFieldMask(running, patch->fields, patch->mask);
  }
  if (const auto* expiry = std::get_if<ExpireFaults>(&change.update)) {
    NodeConfig kept = running;
    std::erase_if(kept.faults, [now = expiry->now_unix_nanos](const FaultRule& rule) {
      return IsExpired(rule, now);
    });
    return kept;
  }
  NodeConfig whole;
  if (const auto* rollback = std::get_if<RollbackTo>(&change.update)) {
    std::optional<ConfigHistoryEntry> kept = history_.Find(rollback->version);
    if (!kept) {
      const std::vector<ConfigHistoryEntry> entries = history_.Entries();
      return absl::NotFoundError(absl::StrCat(
          "version ", rollback->version, " is not in the history, which keeps versions ",
          entries.front().version, " to ", entries.back().version));
    }
    whole = *kept->config;
    // A rule whose time has passed stays gone: a rollback does not bring back an experiment.
    std::erase_if(whole.faults,
                  [now = RealtimeNanos()](const FaultRule& rule) { return IsExpired(rule, now); });
  } else {
    whole = std::get<NodeConfig>(change.update);
  }
  whole.version = running.version;
  return whole;
}

absl::StatusOr<std::optional<NodeConfig>> ConfigPipeline::Check(const ConfigChange& change,
                                                                const ConfigSnapshot& running) {
  if (dataplane_.draining()) {
    return absl::FailedPreconditionError(DrainRefusal(change.source));
  }
  if (change.expected_version != 0 && change.expected_version != running.version) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected_version ", change.expected_version, " but the config is at version ",
                     running.version, ": read it again and retry"));
  }
  absl::StatusOr<NodeConfig> candidate = Candidate(change, running);
  if (!candidate.ok()) {
    return candidate.status();
  }
  // Compared before resolving: an unchanged config needs no lookup (Upstream compares by
  // address, not by what it resolved to).
  if (*candidate == running) {
    return std::nullopt;
  }
  // Only the upstreams the change brings need a lookup: those carried over from the running
  // config keep their address.
  if (absl::Status status = ValidateAndResolve(*candidate, resolve_); !status.ok()) {
    return status;
  }
  // Last, as it binds sockets: a TCP proxy's address in use refuses the change, and port 0
  // becomes the port bound before anything is published (or answered, for a dry run).
  if (absl::Status status =
          dataplane_.tcp_listen_sockets().Bind(*candidate, running.version + 1, change.dry_run);
      !status.ok()) {
    return status;
  }
  return std::optional<NodeConfig>(*std::move(candidate));
}

}  // namespace proxynode
