// Which thread may run an object's engine-thread-only methods (the *_st
// ones): the first check binds the calling thread, and a check from any
// other thread while it is bound fails. Release() unbinds it, when an
// engine thread ends or a test hands stepping over to another thread.
// Used with FERRY_DCHECK, so the check costs nothing in release builds.
#ifndef FERRY_DATAPLANE_BASE_THREAD_OWNER_H_
#define FERRY_DATAPLANE_BASE_THREAD_OWNER_H_

#include <atomic>
#include <thread>

namespace ferry {

class ThreadOwner {
 public:
  bool OnOwnerThread() {
    const std::thread::id self = std::this_thread::get_id();
    std::thread::id owner;  // no thread
    if (owner_.compare_exchange_strong(owner, self,
                                       std::memory_order_acq_rel)) {
      return true;
    }
    return owner == self;
  }
  void Release() { owner_.store(std::thread::id(), std::memory_order_release); }

 private:
  std::atomic<std::thread::id> owner_{};
};

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_THREAD_OWNER_H_
