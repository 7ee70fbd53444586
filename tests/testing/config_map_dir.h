#pragma once

// A temporary directory laid out the way the kubelet mounts a ConfigMap, and updated the way
// it updates one: the file is a symlink through `..data`, which points at a timestamped
// directory holding the real file; an update writes a new directory and renames a new
// `..data_tmp` symlink over `..data` (one atomic step).

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace proxynode::testing {

class ConfigMapDirectory {
 public:
  explicit ConfigMapDirectory(std::string file_name = "proxynode.textproto")
      : file_name_(std::move(file_name)) {
    static std::atomic<int> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("configmap-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  ~ConfigMapDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ConfigMapDirectory(const ConfigMapDirectory&) = delete;
  ConfigMapDirectory& operator=(const ConfigMapDirectory&) = delete;

  // The path a pod's process opens.
  std::string file() const { return (root_ / file_name_).string(); }
  const std::filesystem::path& root() const { return root_; }

  void Publish(const std::string& content) {
    namespace fs = std::filesystem;
    const std::string version = "..2026_11_28_10_00_" + std::to_string(++versions_);
    fs::create_directory(root_ / version);
    std::ofstream(root_ / version / file_name_) << content;
    fs::create_directory_symlink(version, root_ / "..data_tmp");
    fs::rename(root_ / "..data_tmp", root_ / "..data");
    if (!fs::is_symlink(root_ / file_name_)) {
      fs::create_symlink("..data/" + file_name_, root_ / file_name_);
    }
  }

  // Takes `..data` away, as if the volume were mid-change or broken.
  void RemoveData() { std::filesystem::remove(root_ / "..data"); }

 private:
  std::string file_name_;
  std::filesystem::path root_;
  int versions_ = 0;
};

}  // namespace proxynode::testing
