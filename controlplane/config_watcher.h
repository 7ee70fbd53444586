#pragma once

// Notices when the config file's content changes. Kubernetes updates a mounted ConfigMap by
// writing a new hidden directory and swapping the `..data` symlink inside the mount: the file's
// own path and inode never change, so the watch is on the directory (inotify), and a change is
// judged by the content the path now leads to, not by which event came.
//
// Thread contract: one thread (the node's main loop) uses it.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace proxynode {

class ConfigFileWatcher {
 public:
  // Watches the directory of `path` and remembers `current_content` as what is applied.
  static absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> Create(std::string path,
                                                                   std::string current_content);
  ~ConfigFileWatcher();
  ConfigFileWatcher(const ConfigFileWatcher&) = delete;
  ConfigFileWatcher& operator=(const ConfigFileWatcher&) = delete;

  // Readable (poll) when something in the directory changed.
  int fd() const { return inotify_fd_; }
  const std::string& path() const { return path_; }

  // Consumes the pending directory events; true if there were any. Non-blocking.
  bool DrainEvents();

  // The file's content if it differs from the content last returned (or given to Create);
  // nullopt if unchanged; an error if the file cannot be read right now (mid-swap or deleted:
  // the next event tries again). Returned content counts as seen, applied or refused, so a
  // refused file is reported once, not at every event.
  absl::StatusOr<std::optional<std::string>> TakeChangedContent();

 private:
  ConfigFileWatcher(std::string path, std::string content, int inotify_fd)
      : path_(std::move(path)), content_(std::move(content)), inotify_fd_(inotify_fd) {}

  std::string path_;
  std::string content_;
  int inotify_fd_;
};

}  // namespace proxynode
