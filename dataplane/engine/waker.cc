#include "dataplane/engine/waker.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_format.h"

namespace ferry::engine {

Waker::~Waker() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (doorbell_fd_ >= 0) close(doorbell_fd_);
}

absl::Status Waker::Init(int rx_interrupt_fd) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  doorbell_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || doorbell_fd_ < 0) {
    return absl::InternalError(
        absl::StrFormat("epoll/eventfd: %s", strerror(errno)));
  }
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = doorbell_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, doorbell_fd_, &ev) != 0) {
    return absl::InternalError(
        absl::StrFormat("epoll_ctl(doorbell): %s", strerror(errno)));
  }
  if (rx_interrupt_fd >= 0) {
    ev.data.fd = rx_interrupt_fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, rx_interrupt_fd, &ev) != 0) {
      return absl::InternalError(
          absl::StrFormat("epoll_ctl(rx interrupt): %s", strerror(errno)));
    }
    rx_interrupt_fd_ = rx_interrupt_fd;
  }
  return absl::OkStatus();
}

void Waker::Ring() {
  const uint64_t one = 1;
  ssize_t ignored = write(doorbell_fd_, &one, sizeof(one));
  (void)ignored;
}

bool Waker::Sleep(uint64_t timeout_ns) {
  epoll_event events[2];
  timespec timeout;
  timeout.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
  timeout.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
  const int n = epoll_pwait2(epoll_fd_, events, 2, &timeout, nullptr);
  for (int i = 0; i < n; ++i) {
    // Both are counters (eventfds); reading resets them so that epoll does
    // not report them again.
    uint64_t value;
    ssize_t ignored = read(events[i].data.fd, &value, sizeof(value));
    (void)ignored;
  }
  return n > 0;
}

}  // namespace ferry::engine
