// A hashed timer wheel over small integer ids (an engine's flow slots):
// filing, moving and cancelling a timer are O(1), and advancing the clock
// costs the ticks passed plus the timers due, however many ids are idle.
// It replaced a sweep over the flow table that read every flow's deadline
// (29% of an engine's CPU with 10,000 flows).
//
// Ticks are tick_ns long; a deadline further out than the wheel's span
// (slots x tick_ns) is filed in the last slot of the span and visited
// early, once per span, to be filed again. Visiting is what Advance does:
// it hands every id filed at or before the current tick to the caller,
// unlinked, and the caller files it again (or not). Fixed size: nothing
// is allocated after construction. One thread.
#ifndef FERRY_DATAPLANE_ENGINE_TIMER_WHEEL_H_
#define FERRY_DATAPLANE_ENGINE_TIMER_WHEEL_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dataplane/base/check.h"

namespace ferry::engine {

class TimerWheel {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Ids 0 .. ids-1; 2^slots_log2 slots (6..20) of tick_ns each.
  TimerWheel(uint32_t ids, uint32_t slots_log2, uint64_t tick_ns,
             uint64_t now_ns)
      : mask_((1u << slots_log2) - 1),
        tick_ns_(tick_ns),
        heads_(mask_ + 1, kNone),
        words_((mask_ + 1 + 63) / 64, 0),
        summary_((words_.size() + 63) / 64, 0),
        slot_of_(ids, kNone),
        next_(ids, kNone),
        prev_(ids, kNone),
        cursor_(now_ns / tick_ns) {
    FERRY_DCHECK(slots_log2 >= 6 && slots_log2 <= 20);
  }

  // Files `id` to be visited at `when_ns` (replacing any earlier filing);
  // UINT64_MAX cancels. A deadline already past is visited at the next
  // Advance.
  void Schedule(uint32_t id, uint64_t when_ns) {
    Cancel(id);
    if (when_ns == UINT64_MAX) return;
    uint64_t tick = when_ns / tick_ns_;
    if (tick < cursor_) tick = cursor_;
    if (tick > cursor_ + mask_) tick = cursor_ + mask_;
    const uint32_t slot = static_cast<uint32_t>(tick) & mask_;
    slot_of_[id] = slot;
    prev_[id] = kNone;
    next_[id] = heads_[slot];
    if (heads_[slot] != kNone) prev_[heads_[slot]] = id;
    heads_[slot] = id;
    Mark(slot);
  }

  void Cancel(uint32_t id) {
    const uint32_t slot = slot_of_[id];
    if (slot == kNone) return;
    if (prev_[id] != kNone) {
      next_[prev_[id]] = next_[id];
    } else {
      heads_[slot] = next_[id];
      if (heads_[slot] == kNone) Unmark(slot);
    }
    if (next_[id] != kNone) prev_[next_[id]] = prev_[id];
    slot_of_[id] = kNone;
  }

  bool scheduled(uint32_t id) const { return slot_of_[id] != kNone; }

  // Moves the clock to `now_ns` and calls visit(id) for every id filed at
  // or before its tick, each unlinked first. `visit` may file again only
  // the id it was given (the others wait in a private list meanwhile).
  template <typename Visit>
  void Advance(uint64_t now_ns, Visit&& visit) {
    const uint64_t now = now_ns / tick_ns_;
    if (now < cursor_) return;
    // Every slot from the cursor to now, at most the whole wheel once.
    const uint64_t count = std::min<uint64_t>(now - cursor_ + 1, mask_ + 1);
    uint32_t due = kNone;
    for (uint64_t t = 0; t < count; ++t) {
      const uint32_t slot = static_cast<uint32_t>(cursor_ + t) & mask_;
      uint32_t id = heads_[slot];
      if (id == kNone) continue;
      heads_[slot] = kNone;
      Unmark(slot);
      // Splice the slot's list in front of `due`.
      uint32_t last = id;
      while (next_[last] != kNone) {
        slot_of_[last] = kNone;
        last = next_[last];
      }
      slot_of_[last] = kNone;
      next_[last] = due;
      due = id;
    }
    // Filed again from now on: a deadline still due lands in this tick's
    // slot and waits for the next Advance.
    cursor_ = now;
    while (due != kNone) {
      const uint32_t id = due;
      due = next_[id];
      next_[id] = kNone;
      visit(id);
    }
  }

  // The start of the earliest tick with an id filed (a lower bound of the
  // earliest deadline), or UINT64_MAX when nothing is filed.
  uint64_t NextDueNs() const {
    const uint32_t start = static_cast<uint32_t>(cursor_) & mask_;
    const uint32_t found = FindMarked(start);
    if (found == kNone) return UINT64_MAX;
    const uint64_t ahead = (found - start) & mask_;
    return (cursor_ + ahead) * tick_ns_;
  }

 private:
  void Mark(uint32_t slot) {
    words_[slot / 64] |= uint64_t{1} << (slot % 64);
    summary_[slot / 4096] |= uint64_t{1} << ((slot / 64) % 64);
  }
  void Unmark(uint32_t slot) {
    uint64_t& word = words_[slot / 64];
    word &= ~(uint64_t{1} << (slot % 64));
    if (word == 0) {
      summary_[slot / 4096] &= ~(uint64_t{1} << ((slot / 64) % 64));
    }
  }
  // The first marked slot at or after `start`, wrapping; kNone if none.
  uint32_t FindMarked(uint32_t start) const {
    const uint32_t slots = mask_ + 1;
    // The rest of start's word, then whole words through the summary, then
    // from slot 0 up to start.
    const uint64_t first = words_[start / 64] & (~uint64_t{0} << (start % 64));
    if (first != 0) return (start / 64) * 64 + __builtin_ctzll(first);
    const uint32_t after = FindWord(start / 64 + 1, slots / 64);
    if (after != kNone) return after;
    return FindWord(0, start / 64 + 1);
  }
  // The first marked slot in words [from, to).
  uint32_t FindWord(uint32_t from, uint32_t to) const {
    uint32_t w = from;
    while (w < to) {
      uint64_t bits = summary_[w / 64] & (~uint64_t{0} << (w % 64));
      if (bits == 0) {
        w = (w / 64 + 1) * 64;
        continue;
      }
      w = (w / 64) * 64 + __builtin_ctzll(bits);
      if (w >= to) return kNone;
      return w * 64 + __builtin_ctzll(words_[w]);
    }
    return kNone;
  }

  const uint32_t mask_;
  const uint64_t tick_ns_;
  std::vector<uint32_t> heads_;    // per slot: first id filed there
  std::vector<uint64_t> words_;    // per slot: 1 when its list is not empty
  std::vector<uint64_t> summary_;  // per word of words_: 1 when not zero
  std::vector<uint32_t> slot_of_;  // per id: its slot, or kNone
  std::vector<uint32_t> next_;
  std::vector<uint32_t> prev_;
  uint64_t cursor_;  // the current tick: slots behind it are empty
};

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_TIMER_WHEEL_H_
