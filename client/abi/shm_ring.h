// Typed access to one ring of a channel segment (ferry_channel_abi.h), for
// both sides: the client library (which trusts the segment) and the engine
// (which does not).
//
// Each side keeps its own index privately and only ever writes it to shared
// memory; it reads the other side's index once per refresh, with acquire
// ordering, and treats a value that cannot be right (more entries than the
// ring holds) as corruption: the ring then looks empty (consumer) or full
// (producer) and corrupt() says so. Entries are copied out before use.
//
// Descriptor rings (ferry_desc) are slot-sequenced: the producer stores each
// slot's seq last, with release ordering, and the consumer finds ready slots
// by their seq instead of reading the producer's tail.
//
// Not thread-safe: one producer thread and one consumer thread per ring.
#ifndef FERRY_CLIENT_SHM_RING_H_
#define FERRY_CLIENT_SHM_RING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "client/abi/ferry_channel_abi.h"

namespace ferry::shm {

inline uint32_t LoadAcquire(const uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
inline void StoreRelease(uint32_t* p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
inline uint32_t LoadRelaxed(const uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
inline void StoreRelaxed(uint32_t* p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

// A full barrier (stores before it are visible before loads after it).
// On x86 a locked add to the stack does that in about half the time of
// mfence, which orders more (non-temporal stores) than this needs; Linux
// uses it for smp_mb() for the same reason.
inline void FullBarrier() {
#if defined(__x86_64__)
  asm volatile("lock addl $0, -8(%%rsp)" ::: "memory", "cc");
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

template <typename T>
inline constexpr bool kSlotSequenced = std::is_same_v<T, ferry_desc>;

template <typename T>
class RingProducer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  RingProducer() = default;
  // `start` is where the producer begins: 0 for a ring just created, the
  // current tail for a side that attaches to an existing ring it trusts.
  RingProducer(ferry_ring_indices* indices, T* entries, uint32_t capacity,
               uint32_t start)
      : indices_(indices),
        entries_(entries),
        mask_(capacity - 1),
        tail_(start),
        published_(start) {}

  // Slots free now (reads the consumer's head).
  uint32_t FreeSlots() {
    const uint32_t head = LoadAcquire(&indices_->head);
    const uint32_t used = tail_ - head;
    if (used > mask_ + 1) {
      corrupt_ = true;
      cached_free_ = 0;
      return 0;
    }
    cached_free_ = mask_ + 1 - used;
    return cached_free_;
  }

  // Whether `n` entries fit. Reads the consumer's head (a cache line the
  // other core writes) only when the last reading no longer covers `n`.
  bool HasRoom(uint32_t n) {
    if (cached_free_ >= n) return true;
    return FreeSlots() >= n;
  }

  // Writes an entry; invisible to the consumer until Publish().
  void Write(const T& value) {
    T* slot = &entries_[tail_ & mask_];
    if constexpr (kSlotSequenced<T>) {
      // Everything but seq, then seq: until that store the slot still holds
      // the previous lap's seq, which no consumer mistakes for this one.
      // Field by field: a descriptor is mostly built just before, by
      // stores of its fields, and a 16-byte load across several of them
      // cannot take their values from the store buffer; it waits for them
      // to retire (in the lockstep profile, the client's send went from
      // 7.5% to 5% of the CPU with this).
      static_assert(
          offsetof(T, seq) == sizeof(value.flow) + sizeof(value.cookie) +
                                  sizeof(value.head) + sizeof(value.length) +
                                  sizeof(value.type) + sizeof(value.status) &&
              offsetof(T, inline_data) ==
                  offsetof(T, seq) + sizeof(value.seq) &&
              sizeof(T) == offsetof(T, inline_data) + sizeof(value.inline_data),
          "every field of ferry_desc is copied below");
      slot->flow = value.flow;
      slot->cookie = value.cookie;
      slot->head = value.head;
      slot->length = value.length;
      slot->type = value.type;
      slot->status = value.status;
      std::memcpy(slot->inline_data, value.inline_data,
                  sizeof(value.inline_data));
      __atomic_store_n(&slot->seq, tail_ + 1, __ATOMIC_RELEASE);
    } else {
      std::memcpy(slot, &value, sizeof(T));
    }
    ++tail_;
    if (cached_free_ > 0) --cached_free_;
  }

  // Writes an entry in place: `fill(T* slot)` stores its fields (for a
  // sequenced slot, all but seq, which is stored after it); invisible to
  // the consumer until Publish(). For entries built from a few values: a
  // copy from the stack would load what was just stored there by narrower
  // stores, and such a load waits for them to retire. Fields that `fill`
  // leaves alone keep what this producer wrote there on an earlier lap
  // (a descriptor's unused inline bytes).
  template <typename Fill>
  void WriteInPlace(Fill&& fill) {
    T* slot = &entries_[tail_ & mask_];
    fill(slot);
    if constexpr (kSlotSequenced<T>) {
      __atomic_store_n(&slot->seq, tail_ + 1, __ATOMIC_RELEASE);
    }
    ++tail_;
    if (cached_free_ > 0) --cached_free_;
  }

  bool TryPush(const T& value) {
    if (!HasRoom(1)) return false;
    Write(value);
    return true;
  }

  // Makes written entries visible, for a ring whose consumer never sleeps
  // on it (the free rings): no fence, no doorbell check.
  void PublishQuiet() {
    if (tail_ == published_) return;
    StoreRelease(&indices_->tail, tail_);
    published_ = tail_;
  }

  // Makes written entries visible. Returns true when the consumer asked to
  // be woken (then the caller kicks its eventfd).
  bool Publish() {
    if (tail_ == published_) return false;
    StoreRelease(&indices_->tail, tail_);
    published_ = tail_;
    // Pairs with the consumer's barrier between setting consumer_waiting
    // and re-checking the ring: one of the two sides sees the other.
    FullBarrier();
    return LoadRelaxed(&indices_->consumer_waiting) != 0;
  }

  uint32_t capacity() const { return mask_ + 1; }
  bool corrupt() const { return corrupt_; }

 private:
  ferry_ring_indices* indices_ = nullptr;
  T* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t tail_ = 0;
  uint32_t published_ = 0;
  uint32_t cached_free_ = 0;  // free slots as of the last read of head
  bool corrupt_ = false;
};

template <typename T>
class RingConsumer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  RingConsumer() = default;
  RingConsumer(ferry_ring_indices* indices, const T* entries, uint32_t capacity,
               uint32_t start)
      : indices_(indices),
        entries_(entries),
        mask_(capacity - 1),
        head_(start) {}

  // Entries ready now (reads the producer's tail, or the slots themselves
  // for descriptor rings). A descriptor ring is read slot by slot, so a
  // caller that needs at most `limit` entries says so: a ring with thousands
  // ready (ten thousand flows) would otherwise be scanned whole on every
  // call, and a receive loop that asks "anything?" per message would touch
  // every ready slot per message.
  uint32_t Available(uint32_t limit = UINT32_MAX) {
    if constexpr (kSlotSequenced<T>) {
      const uint32_t most = std::min(limit, mask_ + 1);
      uint32_t ready = 0;
      while (ready < most &&
             __atomic_load_n(&entries_[(head_ + ready) & mask_].seq,
                             __ATOMIC_ACQUIRE) == head_ + ready + 1) {
        ++ready;
      }
      return ready;
    }
    const uint32_t tail = LoadAcquire(&indices_->tail);
    const uint32_t ready = tail - head_;
    if (ready > mask_ + 1) {
      corrupt_ = true;
      return 0;
    }
    return std::min(ready, limit);
  }

  // A copy of the i-th ready entry (i < Available()).
  T Peek(uint32_t i) const {
    T value;
    std::memcpy(&value, &entries_[(head_ + i) & mask_], sizeof(T));
    return value;
  }

  // Frees `n` entries for the producer.
  void Consume(uint32_t n) {
    head_ += n;
    StoreRelease(&indices_->head, head_);
  }

  bool TryPop(T* value) {
    if (Available(1) == 0) return false;
    *value = Peek(0);
    Consume(1);
    return true;
  }

  // Doorbell protocol, consumer side: call PrepareToSleep(); if it returns
  // false, entries arrived meanwhile and the caller must not sleep. After
  // waking (or deciding not to sleep), call DoneSleeping().
  bool PrepareToSleep() {
    StoreRelaxed(&indices_->consumer_waiting, 1);
    FullBarrier();
    if (Available(1) != 0) {
      DoneSleeping();
      return false;
    }
    return true;
  }
  void DoneSleeping() { StoreRelaxed(&indices_->consumer_waiting, 0); }

  uint32_t capacity() const { return mask_ + 1; }
  bool corrupt() const { return corrupt_; }
  // Entries consumed so far (free-running, as the shared head).
  uint32_t position() const { return head_; }

 private:
  ferry_ring_indices* indices_ = nullptr;
  const T* entries_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t head_ = 0;
  bool corrupt_ = false;
};

}  // namespace ferry::shm

#endif  // FERRY_CLIENT_SHM_RING_H_
