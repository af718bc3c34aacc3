#include "controlplane/api/peer_table.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

struct SocketPair {
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST(PeerTableTest, FindsTheCredentialsOfALiveConnection) {
  PeerTable table(4);
  SocketPair pair;
  ASSERT_TRUE(table.Admit(pair.fds[0], PeerCredentials{42, 1000, 1000}));
  std::optional<PeerCredentials> found =
      table.Find("fd:" + std::to_string(pair.fds[0]));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->pid, 42);
  EXPECT_EQ(found->uid, 1000u);
  EXPECT_FALSE(table.Find("unix:/run/ferry/ferryd.sock").has_value());
  EXPECT_FALSE(table.Find("fd:x").has_value());
  EXPECT_FALSE(table.Find("fd:" + std::to_string(pair.fds[1])).has_value());
}

TEST(PeerTableTest, BoundsLiveConnectionsPerUser) {
  PeerTable table(2);
  SocketPair a, b, c, d;
  EXPECT_TRUE(table.Admit(a.fds[0], PeerCredentials{1, 1000, 1000}));
  EXPECT_TRUE(table.Admit(b.fds[0], PeerCredentials{1, 1000, 1000}));
  EXPECT_FALSE(table.Admit(c.fds[0], PeerCredentials{1, 1000, 1000}));
  // Another user is not held back by the first.
  EXPECT_TRUE(table.Admit(d.fds[0], PeerCredentials{2, 1001, 1001}));
  EXPECT_EQ(table.LiveFor(1000), 2u);
  // A connection that ended (gRPC closed its descriptor) frees its slot.
  close(a.fds[0]);
  const int old_fd = a.fds[0];
  a.fds[0] = -1;
  EXPECT_FALSE(table.Find("fd:" + std::to_string(old_fd)).has_value());
  EXPECT_EQ(table.LiveFor(1000), 1u);
  EXPECT_TRUE(table.Admit(c.fds[0], PeerCredentials{1, 1000, 1000}));
}

TEST(PeerTableTest, AReusedDescriptorIsNotTheOldConnection) {
  PeerTable table(4);
  SocketPair a;
  ASSERT_TRUE(table.Admit(a.fds[0], PeerCredentials{1, 1000, 1000}));
  const int fd = a.fds[0];
  close(fd);
  a.fds[0] = -1;
  // The number comes back for another socket that the table never saw.
  SocketPair b;
  ASSERT_EQ(b.fds[0], fd);
  EXPECT_FALSE(table.Find("fd:" + std::to_string(fd)).has_value());
}

}  // namespace
}  // namespace ferry::controlplane
