#include "controlplane/ferryctl_commands/config_commands.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ferry::ferryctl {

std::string FerrydForConfigCheck() {
  if (const char* explicit_path = std::getenv("FERRYD");
      explicit_path != nullptr && explicit_path[0] != '\0') {
    return explicit_path;
  }
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string sibling(self);
    sibling = sibling.substr(0, sibling.rfind('/') + 1) + "ferryd";
    if (access(sibling.c_str(), X_OK) == 0) return sibling;
  }
  return "ferryd";
}

int ConfigCheck(const Ctl& ctl, const Args& args) {
  const std::string& file = args[0];
  if (access(file.c_str(), R_OK) != 0) {
    return Usage(absl::StrCat("config check: cannot read ", file, ": ",
                              std::strerror(errno)));
  }
  const std::string ferryd = FerrydForConfigCheck();
  const std::string flagfile = absl::StrCat("--flagfile=", file);
  const pid_t pid = fork();
  if (pid < 0) return Usage(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    execlp(ferryd.c_str(), ferryd.c_str(), flagfile.c_str(), "--check_config",
           static_cast<char*>(nullptr));
    std::fprintf(stderr, "ferryctl: error: cannot run %s: %s\n", ferryd.c_str(),
                 std::strerror(errno));
    _exit(kExitFailed);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return kExitFailed;
  // ferryd exits 2 for a bad configuration: ferryctl's "bad usage" too.
  return WEXITSTATUS(status) == 0   ? 0
         : WEXITSTATUS(status) == 2 ? kExitUsage
                                    : kExitFailed;
}

}  // namespace ferry::ferryctl
