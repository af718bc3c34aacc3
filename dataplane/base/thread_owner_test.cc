#include "dataplane/base/thread_owner.h"

#include <thread>

#include "gtest/gtest.h"

namespace ferry {
namespace {

TEST(ThreadOwnerTest, TheFirstThreadOwnsUntilItReleases) {
  ThreadOwner owner;
  // Expect: the first caller binds, and stays the owner.
  EXPECT_TRUE(owner.OnOwnerThread());
  EXPECT_TRUE(owner.OnOwnerThread());
  // Expect: another thread is refused while it is bound.
  bool other = true;
  std::thread([&] { other = owner.OnOwnerThread(); }).join();
  EXPECT_FALSE(other);
  // Expect: after a release, the next thread to check owns it.
  owner.Release();
  std::thread([&] { other = owner.OnOwnerThread(); }).join();
  EXPECT_TRUE(other);
  EXPECT_FALSE(owner.OnOwnerThread());
}

}  // namespace
}  // namespace ferry
