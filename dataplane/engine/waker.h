// Where an idle engine sleeps: an epoll set holding the engine's doorbell
// eventfd (kicked by the control plane, later by application channels) and,
// when the port has them, the fd that signals RX interrupts (DPDK's
// per-thread epoll set, nested).
//
// Init() runs before the engine thread starts; AddRxInterruptSource() and
// Sleep() on the engine thread; Ring() on any thread.
#ifndef FERRY_DATAPLANE_ENGINE_WAKER_H_
#define FERRY_DATAPLANE_ENGINE_WAKER_H_

#include <cstdint>

#include "absl/status/status.h"

namespace ferry::engine {

class Waker {
 public:
  Waker() = default;
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  absl::Status Init();

  // `fd` (not owned) joins the set; Sleep reports it but never reads it: its
  // owner acknowledges its events.
  absl::Status AddRxInterruptSource(int fd);

  // Wakes a sleeping engine (or makes its next Sleep return at once).
  void Ring();

  // The doorbell eventfd itself, for others to kick (channels hand a dup of
  // it to their application).
  int doorbell_fd() const { return doorbell_fd_; }

  enum WakeReason : unsigned { kTimeout = 0, kDoorbell = 1, kRxInterrupt = 2 };
  // Sleeps up to `timeout_ns`; returns a mask of WakeReason. Drains the
  // doorbell.
  unsigned Sleep(uint64_t timeout_ns);

 private:
  int epoll_fd_ = -1;
  int doorbell_fd_ = -1;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_WAKER_H_
