#include "controlplane/daemon/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace ferry::controlplane {
namespace {

// A datagram socket bound where a service manager would listen.
class FakeServiceManager {
 public:
  explicit FakeServiceManager(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    bound_ = bind(fd_, reinterpret_cast<const sockaddr*>(&address),
                  static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                                         name.size())) == 0;
  }
  ~FakeServiceManager() {
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  std::string Receive() {
    char buffer[256];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n < 0 ? "" : std::string(buffer, static_cast<size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(ServiceNotifyTest, SendsTheStateToAPathSocket) {
  // Bazel's TEST_TMPDIR is too long for a socket path (108 bytes).
  char dir[] = "/tmp/ferry-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify.sock";
  FakeServiceManager manager(path);
  ASSERT_TRUE(manager.bound());
  ASSERT_TRUE(NotifyServiceManagerAt(path, "READY=1\nSTATUS=up").ok());
  EXPECT_EQ(manager.Receive(), "READY=1\nSTATUS=up");
  unlink(path.c_str());
  rmdir(dir);
}

TEST(ServiceNotifyTest, SendsTheStateToAnAbstractSocketFromTheEnvironment) {
  const std::string name = "@ferry-notify-test-" + std::to_string(getpid());
  FakeServiceManager manager(name);
  ASSERT_TRUE(manager.bound());
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(NotifyServiceManager("STOPPING=1").ok());
  unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(manager.Receive(), "STOPPING=1");
}

TEST(ServiceNotifyTest, WithoutASocketNothingIsSent) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(NotifyServiceManager("READY=1").ok());
}

TEST(ServiceNotifyTest, BadOrAbsentSocketsAreErrors) {
  EXPECT_FALSE(NotifyServiceManagerAt("relative/path", "READY=1").ok());
  EXPECT_FALSE(NotifyServiceManagerAt("", "READY=1").ok());
  EXPECT_FALSE(NotifyServiceManagerAt(std::string(200, '/'), "READY=1").ok());
  // Nobody listens there.
  EXPECT_EQ(
      NotifyServiceManagerAt("@ferry-nobody-listens-here", "READY=1").code(),
      absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ferry::controlplane
