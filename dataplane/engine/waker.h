// Where an idle engine sleeps: an epoll set holding the engine's doorbell
// eventfd (kicked by the control plane, later by application channels) and,
// when the port has them, the RX-queue interrupt fd.
//
// Sleep() runs on the engine thread; Ring() on any thread.
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

  // `rx_interrupt_fd` may be -1. Not owned.
  absl::Status Init(int rx_interrupt_fd);

  // Wakes a sleeping engine (or makes its next Sleep return at once).
  void Ring();

  // Sleeps up to `timeout_ns`. Returns true when woken by an event rather
  // than the timeout. Drains whatever woke it.
  bool Sleep(uint64_t timeout_ns);

 private:
  int epoll_fd_ = -1;
  int doorbell_fd_ = -1;
  int rx_interrupt_fd_ = -1;
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_WAKER_H_
