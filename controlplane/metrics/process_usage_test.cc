#include "controlplane/metrics/process_usage.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

TEST(ReadThreadSwitches, CountsSleepsAsVoluntary) {
  const std::optional<ThreadSwitches> before = ReadThreadSwitches(gettid());
  ASSERT_TRUE(before.has_value());
  // Each sleep blocks the thread: at least one voluntary switch apiece.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::optional<ThreadSwitches> after = ReadThreadSwitches(gettid());
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->voluntary, before->voluntary + 5);
  EXPECT_GE(after->involuntary, before->involuntary);
}

TEST(ReadThreadSwitches, ReadsAnotherThreadOfTheProcess) {
  pid_t tid = 0;
  std::thread other([&] {
    tid = gettid();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  other.join();
  // Gone after join: no numbers rather than wrong ones.
  EXPECT_FALSE(ReadThreadSwitches(tid).has_value());
}

TEST(ReadThreadSwitches, NoThreadNoNumbers) {
  EXPECT_FALSE(ReadThreadSwitches(0).has_value());
  EXPECT_FALSE(ReadThreadSwitches(-1).has_value());
}

}  // namespace
}  // namespace ferry::controlplane
