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

absl::Status Waker::Init() {
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
  return absl::OkStatus();
}

absl::Status Waker::AddRxInterruptSource(int fd) {
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::InternalError(
        absl::StrFormat("epoll_ctl(rx interrupts): %s", strerror(errno)));
  }
  return absl::OkStatus();
}

void Waker::Ring() {
  const uint64_t one = 1;
  ssize_t ignored = write(doorbell_fd_, &one, sizeof(one));
  (void)ignored;
}

unsigned Waker::Sleep(uint64_t timeout_ns) {
  epoll_event events[2];
  timespec timeout;
  timeout.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
  timeout.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
  const int n = epoll_pwait2(epoll_fd_, events, 2, &timeout, nullptr);
  unsigned reasons = kTimeout;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == doorbell_fd_) {
      // An eventfd counter: reading resets it.
      uint64_t value;
      ssize_t ignored = read(doorbell_fd_, &value, sizeof(value));
      (void)ignored;
      reasons |= kDoorbell;
    } else {
      reasons |= kRxInterrupt;
    }
  }
  return reasons;
}

}  // namespace ferry::engine
