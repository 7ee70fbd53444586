#pragma once

// The one path every config change takes, whoever asks (start-up, a reloaded config file,
// UpdateConfig):
//   1. one change at a time, in the order they were submitted: the pipeline's own thread
//      takes them from a queue, so it is the lock;
//   2. refused while the node drains;
//   3. refused whole when the change expects another version than the running one (CAS);
//   4. applied to the running config and validated: INVALID_ARGUMENT naming the field;
//   5. upstream names resolved: a blocking getaddrinfo, which is why the steps run on the
//      pipeline's thread and never on a gRPC callback thread;
//   6. the version bumped by one and the snapshot published to every worker.
// Fault rules that expire are removed by the pipeline itself, as a change of its own
// (ExpireFaults) made when the first expiry comes, logged with the rules it removed. (The
// workers stop applying an expired rule at its time already; this makes it leave the config.)
// A refused change publishes nothing and leaves the version as it is. A change whose config
// equals the running one is "unchanged": nothing is published, the version stays. Every
// result carries the diff between the running config and step 5's. A dry run stops after
// step 5 and answers with what would run. Step 6 records the version in the history (the
// last 32, for GetConfigHistory and rollbacks) and, for a client's change, writes the audit
// line (config_audit.h). Start-up, before a data plane exists, takes steps 4 and 5 only
// (PrepareStartupConfig) and runs as version 1, the history's first entry.
//
// Thread contract: Submit and Apply are safe to call from any thread but the pipeline's own
// (Apply blocks). Destroying the pipeline refuses what is still queued and joins its thread;
// everything that submits must stop first (the control server's Shutdown waits for the
// UpdateConfig calls the pipeline is still to finish).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "controlplane/config_change.h"
#include "controlplane/config_history.h"
#include "controlplane/upstream_resolver.h"
#include "dataplane/dataplane.h"

namespace proxynode {

class ConfigPipeline {
 public:
  // Step 5: fills Upstream::resolved (ResolveUpstreams). Tests substitute their own.
  using Resolver = absl::AnyInvocable<absl::Status(NodeConfig&)>;
  // Called exactly once per submitted change: on the pipeline's thread when the change is
  // refused or unchanged, on the data plane's last worker to take the snapshot when it is
  // published (or on the caller's thread when the pipeline is already stopping).
  using Done = absl::AnyInvocable<void(ConfigOutcome)>;

  static constexpr uint64_t kStartupVersion = 1;

  // Steps 4 and 5 for the start-up config, on the caller's thread (nothing else runs yet):
  // the config the data plane is then created with, as version 1.
  static absl::StatusOr<NodeConfig> PrepareStartupConfig(NodeConfig config,
                                                         Resolver resolve = &ResolveUpstreams);

  // Starts the pipeline's thread. `dataplane` runs the start-up config and must be started
  // before a change is submitted; it must outlive the pipeline.
  explicit ConfigPipeline(Dataplane& dataplane, Resolver resolve = &ResolveUpstreams);
  ~ConfigPipeline();
  ConfigPipeline(const ConfigPipeline&) = delete;
  ConfigPipeline& operator=(const ConfigPipeline&) = delete;

  // Queues `change`; `done` gets what became of it. Never blocks on the change itself.
  void Submit(ConfigChange change, Done done);
  // Submits `change` and waits until it is refused, found unchanged, or applied by every
  // worker. For control threads (the config file's reload), never a worker or the pipeline.
  ConfigOutcome Apply(ConfigChange change);

  uint64_t running_version() const { return dataplane_.config()->version; }
  const ConfigHistory& history() const { return history_; }

 private:
  struct Queued {
    ConfigChange change;
    Done done;
    MonoTime submitted;
  };

  void Loop();
  // The change that removes the rules expired by now, with its audit line.
  Queued ExpiryChange();
  // Steps 2 to 6 for one change, on the pipeline's thread.
  void Process(Queued queued);
  // Steps 2 to 5: the config to publish (its version not yet bumped), nullopt when the change
  // changes nothing, or the refusal.
  absl::StatusOr<std::optional<NodeConfig>> Check(const ConfigChange& change,
                                                  const ConfigSnapshot& running);
  // Step 4's first half: the change applied to the running config, version left as it runs.
  absl::StatusOr<NodeConfig> Candidate(const ConfigChange& change, const ConfigSnapshot& running);
  void Record(const ConfigChange& change, const ConfigResult& result);

  Dataplane& dataplane_;
  Resolver resolve_;  // used on the pipeline's thread only
  ConfigHistory history_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // A refused expiry (a draining node) is not retried before this (monotonic).
  MonoTime expiry_retry_at_ = 0;
  // Last: it starts once everything it uses exists.
  std::thread thread_;
};

}  // namespace proxynode
