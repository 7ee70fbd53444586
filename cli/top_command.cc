// top: a live view of one node from WatchStats, redrawn on every message until Ctrl-C or
// --iterations.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "cli/commands.h"
#include "cli/fleet.h"
#include "cli/stats_view.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

// Home the cursor and clear the screen: a redraw without scrolling.
constexpr char kClearScreen[] = "\033[H\033[2J";

std::string WallClock(const google::protobuf::Timestamp& time) {
  std::time_t seconds = static_cast<std::time_t>(time.seconds());
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%H:%M:%S", &local);
  return buffer;
}

// Turns Ctrl-C (SIGINT) and SIGTERM into a cancelled stream, so top ends cleanly with exit
// code 0 instead of dying mid-frame. `signals` must be blocked in every thread (gRPC's
// included, so before the client's channel exists: threads inherit the mask); one thread
// takes them with sigwait. Destroying the watcher wakes that thread with a signal of its own.
class InterruptWatcher {
 public:
  InterruptWatcher(const sigset_t& signals, NodeClient& client) : signals_(signals) {
    thread_ = std::thread([this, &client] {
      int signo = 0;
      sigwait(&signals_, &signo);
      if (!done_.load()) client.CancelWatch();
    });
  }
  ~InterruptWatcher() {
    done_.store(true);
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int RunTop(const Context& context, const TopOptions& options) {
  if (context.all) {
    PrintError("top watches one node; drop --all and name it with --addr");
    return kExitUsage;
  }
  std::chrono::milliseconds interval;
  if (Outcome parsed = ParsePositiveDuration("--interval", options.interval, &interval);
      !parsed.ok()) {
    PrintError(parsed.error);
    return kExitUsage;
  }
  if (options.iterations < 0) {
    PrintError("--iterations " + std::to_string(options.iterations) +
               ": must be an integer >= 0 (0 = until Ctrl-C)");
    return kExitUsage;
  }
  sigset_t interrupts;
  sigemptyset(&interrupts);
  sigaddset(&interrupts, SIGINT);
  sigaddset(&interrupts, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &interrupts, nullptr);
  NodeClient client(context.addresses.front(), context.timeout, context.transport);
  InterruptWatcher watcher(interrupts, client);

  // Clearing the screen only makes sense on a terminal; piped, frames follow each other.
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  std::optional<proxynode::v1::Stats> previous;
  int shown = 0;
  Outcome outcome = client.WatchStats(interval, [&](const proxynode::v1::Stats& stats) {
    if (context.json) {
      PrintDocument(context, ToJson(stats));
    } else {
      std::string frame = terminal ? kClearScreen : (shown > 0 ? "\n" : "");
      frame += "proxyctl top   " + client.address() + "   every " +
               FormatDuration(interval.count() * 1'000'000) + "   " + WallClock(stats.time()) +
               "   (Ctrl-C to quit)\n";
      frame += RenderStats(stats, previous ? &*previous : nullptr,
                           {client.address(), /*hide_zero_counters=*/true});
      PrintOut(frame);
    }
    previous = stats;
    ++shown;
    return options.iterations == 0 || shown < options.iterations;
  });
  if (!outcome.ok()) {
    PrintError(outcome.error);
    return outcome.exit_code;
  }
  return kExitOk;
}

}  // namespace proxyctl
