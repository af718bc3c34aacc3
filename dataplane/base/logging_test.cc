#include "dataplane/base/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ferry {
namespace {

// Logs one warning in a child whose stderr is a fresh file, with
// JOURNAL_STREAM naming that file (`journal`) or another stream; returns
// what the child wrote. A child, because the format is chosen once per
// process.
std::string LogInChild(bool journal) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/log-",
                                        journal ? "journal" : "plain");
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    struct stat st;
    fstat(fd, &st);
    const std::string stream =
        journal ? absl::StrCat(st.st_dev, ":", st.st_ino)
                : absl::StrCat(st.st_dev, ":", st.st_ino + 1);
    setenv("JOURNAL_STREAM", stream.c_str(), 1);
    dup2(fd, STDERR_FILENO);
    FERRY_LOG(Warning, "disk %s", "low");
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LoggingTest, TheJournalGetsTheLevelAsAPriorityAndNoTime) {
  EXPECT_EQ(LogInChild(true), "<4>logging_test.cc:36] disk low\n");
}

TEST(LoggingTest, AnotherStreamGetsTheUsualLine) {
  const std::string line = LogInChild(false);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line[0], 'W');
  EXPECT_NE(line.find(" logging_test.cc:36] disk low\n"), std::string::npos)
      << line;
}

}  // namespace
}  // namespace ferry
