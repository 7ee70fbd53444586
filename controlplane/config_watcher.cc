#include "controlplane/config_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/config_file.h"

namespace proxynode {

absl::StatusOr<std::unique_ptr<ConfigFileWatcher>> ConfigFileWatcher::Create(
    std::string path, std::string current_content) {
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path.substr(0, slash);
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  }
  // Creation, renames and completed writes cover a symlink swap, an editor's rename-over and
  // an in-place rewrite; deletion covers a file taken away (then put back).
  constexpr uint32_t kEvents = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE;
  if (inotify_add_watch(fd, directory.c_str(), kEvents) < 0) {
    int error = errno;
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("watching ", directory, " for config changes: ", std::strerror(error)));
  }
  return std::unique_ptr<ConfigFileWatcher>(
      new ConfigFileWatcher(std::move(path), std::move(current_content), fd));
}

ConfigFileWatcher::~ConfigFileWatcher() { close(inotify_fd_); }

bool ConfigFileWatcher::DrainEvents() {
  // The events' names do not matter (see the header), only that some arrived.
  alignas(inotify_event) char buffer[4096];
  bool any = false;
  while (true) {
    ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
    if (n > 0) {
      any = true;
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return any;  // EAGAIN: drained
  }
}

absl::StatusOr<std::optional<std::string>> ConfigFileWatcher::TakeChangedContent() {
  absl::StatusOr<std::string> content = ReadConfigFile(path_);
  if (!content.ok()) {
    return content.status();
  }
  if (*content == content_) {
    return std::nullopt;
  }
  content_ = *content;
  return content;
}

}  // namespace proxynode
