// A bounded single-producer/single-consumer ring of trivially copyable values.
//
// One thread calls TryPush, one other thread calls TryPop; neither ever
// blocks or takes a lock. Head and tail live on separate cache lines, each
// side caches the other's index so that a push or pop touches the shared line
// only when its cached view says the ring looks full or empty.
#ifndef FERRY_DATAPLANE_BASE_SPSC_RING_H_
#define FERRY_DATAPLANE_BASE_SPSC_RING_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ferry {

inline constexpr size_t kCacheLineSize = 64;

template <typename T, size_t kCapacity>
class SpscRing {
  static_assert(kCapacity >= 2 && (kCapacity & (kCapacity - 1)) == 0,
                "capacity must be a power of two");
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // Producer thread only.
  bool TryPush(const T& value) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - producer_cached_head_ == kCapacity) {
      producer_cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - producer_cached_head_ == kCapacity) return false;
    }
    slots_[tail & (kCapacity - 1)] = value;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only.
  bool TryPop(T* value) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == consumer_cached_tail_) {
      consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == consumer_cached_tail_) return false;
    }
    *value = slots_[head & (kCapacity - 1)];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Any thread; a hint that may be stale by the time it returns.
  bool EmptyHint() const {
    return head_.load(std::memory_order_acquire) ==
           tail_.load(std::memory_order_acquire);
  }

  static constexpr size_t capacity() { return kCapacity; }

 private:
  alignas(kCacheLineSize) std::atomic<uint64_t> head_{0};
  uint64_t consumer_cached_tail_ = 0;
  alignas(kCacheLineSize) std::atomic<uint64_t> tail_{0};
  uint64_t producer_cached_head_ = 0;
  alignas(kCacheLineSize) std::array<T, kCapacity> slots_{};
};

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_SPSC_RING_H_
