// top: a live view of one node from WatchStats, redrawn on every message until q, Ctrl-C or
// --iterations. On a terminal it draws on the alternate screen (the shell's screen comes back
// as it was) within the terminal's size, and reads keys: q quits, s changes the sort.

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/fleet.h"
#include "cli/stats_view.h"
#include "cli/top_view.h"
#include "cli/units.h"

namespace proxyctl {
namespace {

// Home the cursor and clear the screen: a redraw without scrolling.
constexpr char kClearScreen[] = "\033[H\033[2J";
// The alternate screen with the cursor hidden, and back.
constexpr char kEnterScreen[] = "\033[?1049h\033[?25l";
constexpr char kLeaveScreen[] = "\033[?25h\033[?1049l";

// The terminal's size; 80x24 when it cannot be read.
void TerminalSize(size_t* width, size_t* height) {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    *width = size.ws_col;
    *height = size.ws_row;
  }
}

// Keys from the terminal, one at a time without Enter or echo, while it lives: `on_key` runs
// on its own thread. The terminal's mode is restored when it ends.
class KeyReader {
 public:
  template <typename OnKey>
  explicit KeyReader(OnKey on_key) {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) return;
    active_ = true;
    thread_ = std::thread([this, on_key] {
      while (!done_.load()) {
        pollfd fd{STDIN_FILENO, POLLIN, 0};
        if (poll(&fd, 1, 100) <= 0) continue;
        char key = 0;
        if (read(STDIN_FILENO, &key, 1) != 1) return;
        on_key(key);
      }
    });
  }
  ~KeyReader() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  KeyReader(const KeyReader&) = delete;
  KeyReader& operator=(const KeyReader&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

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
  const bool keys = terminal && isatty(STDIN_FILENO) == 1 && !context.json;
  std::mutex mutex;  // the frame's state, drawn by the stream's thread and the keys' thread
  TopViewOptions view{.address = client.address(),
                      .clock = "",
                      .interval = FormatDuration(interval.count() * 1'000'000),
                      .sort = TopSort::kRequests,
                      .width = 80,
                      .height = 24,
                      .keys = keys};
  std::optional<proxynode::v1::Stats> previous, latest;
  int shown = 0;
  const auto draw = [&] {  // under `mutex`
    if (terminal) TerminalSize(&view.width, &view.height);
    std::string frame = terminal ? kClearScreen : (shown > 1 ? "\n" : "");
    frame += RenderTop(*latest, previous ? &*previous : nullptr, view);
    PrintOut(frame);
  };
  if (keys) PrintOut(kEnterScreen);
  std::optional<KeyReader> reader;
  if (keys) {
    reader.emplace([&](char key) {
      if (key == 'q' || key == 'Q') {
        client.CancelWatch();
      } else if (key == 's' || key == 'S') {
        std::lock_guard<std::mutex> lock(mutex);
        view.sort = NextTopSort(view.sort);
        if (latest) draw();
      }
    });
  }
  Outcome outcome = client.WatchStats(interval, [&](const proxynode::v1::Stats& stats) {
    std::lock_guard<std::mutex> lock(mutex);
    ++shown;
    if (context.json) {
      PrintDocument(context, ToJson(stats));
    } else {
      if (latest) previous = std::move(latest);
      latest = stats;
      view.clock = WallClock(stats.time());
      draw();
    }
    return options.iterations == 0 || shown < options.iterations;
  });
  reader.reset();
  if (keys) PrintOut(kLeaveScreen);
  if (!outcome.ok()) {
    PrintError(outcome.error);
    return outcome.exit_code;
  }
  return kExitOk;
}

}  // namespace proxyctl
