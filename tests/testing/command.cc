#include "tests/testing/command.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

extern char** environ;

namespace proxynode::testing {
std::string ReadTextFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::ostream& operator<<(std::ostream& os, const CommandResult& run) {
  return os << (run.exit ? run.exit->ToString() : "killed after the timeout") << "\n--- stdout\n"
            << run.out << "--- stderr\n"
            << run.err;
}

CommandResult RunCommand(const std::vector<std::string>& args, const std::filesystem::path& dir,
                         std::chrono::milliseconds timeout) {
  std::vector<std::string> argv_text = args;
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PROXYCTL_", 9) != 0) env_text.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::filesystem::path out = dir / "run.out";
  const std::filesystem::path err = dir / "run.err";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  CommandResult run;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawnp " << argv[0] << ": " << std::strerror(rc);
    return run;
  }
  // waitpid has no timeout: poll it (the command ending is what we wait for).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      run.exit = ExitStatus::FromWaitStatus(status);
      break;
    }
    if ((done < 0 && errno != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run.out = ReadTextFile(out);
  run.err = ReadTextFile(err);
  return run;
}

}  // namespace proxynode::testing
